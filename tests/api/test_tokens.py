"""Personal access tokens: shown once, stored hashed, revoked at once."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from simdesk.accounts.models import PersonalAccessToken
from simdesk.accounts.tokens import token_authenticate, token_create, token_revoke
from simdesk.core.errors import NotFound, ServiceError


def test_it_creates_a_token_that_is_shown_once_and_stored_hashed(alice_api, at_now):
    response = alice_api.post("/api/v1/tokens", {"name": "backup job"},
                              content_type="application/json")

    assert response.status_code == 201
    plaintext = response.json()["token"]
    scheme, prefix, secret = plaintext.split("_", 2)
    assert (scheme, prefix) == ("sdk", response.json()["prefix"])
    stored = PersonalAccessToken.objects.get(prefix=prefix)
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in stored.token_hash
    listed = alice_api.get("/api/v1/tokens").json()["items"]
    assert {token["name"] for token in listed} == {"laptop script", "backup job"}
    assert all("token" not in token for token in listed)


def test_it_authenticates_with_a_new_token(alice_api, at_now):
    plaintext = alice_api.post("/api/v1/tokens", {"name": "ci"},
                               content_type="application/json").json()["token"]

    response = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}").get("/api/v1/me")

    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.com"


def test_it_refuses_a_revoked_token_with_401(alice, alice_api, now, at_now):
    token, plaintext = token_create(user=alice, name="old phone", now=now)
    other = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert other.get("/api/v1/me").status_code == 200

    response = alice_api.delete(f"/api/v1/tokens/{token.public_id}")

    assert response.status_code == 204
    refused = other.get("/api/v1/me")
    assert refused.status_code == 401
    assert refused.json()["code"] == "not_authenticated"


def test_it_refuses_a_token_whose_secret_is_wrong(alice, now):
    token, plaintext = token_create(user=alice, name="x", now=now)

    assert token_authenticate(plaintext=plaintext[:-1] + "A"
                              if not plaintext.endswith("A") else plaintext[:-1] + "B",
                              now=now) is None
    assert token_authenticate(plaintext=plaintext, now=now) == token


def test_it_answers_404_when_revoking_another_customers_token(alice_api, bob, now, at_now):
    bobs, _plaintext = token_create(user=bob, name="bob's", now=now)

    response = alice_api.delete(f"/api/v1/tokens/{bobs.public_id}")

    assert response.status_code == 404
    bobs.refresh_from_db()
    assert bobs.revoked_at is None


def test_it_keeps_the_first_revocation_time(alice, now):
    token, _plaintext = token_create(user=alice, name="x", now=now)

    token_revoke(user=alice, token_public_id=token.public_id, now=now)
    again = token_revoke(user=alice, token_public_id=token.public_id,
                         now=now + timedelta(hours=1))

    assert again.revoked_at == now


def test_it_refuses_a_token_without_a_name(alice, now):
    with pytest.raises(ServiceError):
        token_create(user=alice, name="   ", now=now)
    with pytest.raises(NotFound):
        token_revoke(user=alice, token_public_id="not-a-uuid", now=now)


def test_it_answers_400_naming_the_field_for_a_blank_name(alice_api, at_now):
    response = alice_api.post("/api/v1/tokens", {"name": " "},
                              content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "token_name_required"


def test_it_records_last_use_at_most_once_a_minute(alice, now):
    token, plaintext = token_create(user=alice, name="x", now=now)

    token_authenticate(plaintext=plaintext, now=now)
    token_authenticate(plaintext=plaintext, now=now + timedelta(seconds=30))
    token.refresh_from_db()
    assert token.last_used_at == now

    token_authenticate(plaintext=plaintext, now=now + timedelta(seconds=61))
    token.refresh_from_db()
    assert token.last_used_at == now + timedelta(seconds=61)


def test_it_refuses_the_token_of_a_deactivated_user(alice, now):
    _token, plaintext = token_create(user=alice, name="x", now=now)
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    with time_machine.travel(now, tick=False):
        response = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}").get("/api/v1/me")

    assert response.status_code == 401


def test_it_lets_staff_revoke_a_token_in_the_admin(alice, make_user, now):
    from django.urls import reverse

    staff = make_user("staff@example.com", is_staff=True, is_superuser=True)
    token, _plaintext = token_create(user=alice, name="leaked", now=now)
    client = Client()
    client.force_login(staff)

    listing = client.get(reverse("admin:accounts_personalaccesstoken_changelist"))
    client.post(reverse("admin:accounts_personalaccesstoken_changelist"),
                {"action": "revoke", "_selected_action": [token.pk]})

    assert listing.status_code == 200
    assert token.token_hash not in listing.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_it_loads_the_token_and_its_user_in_one_query_as_the_orm_would(
        alice, now, django_assert_num_queries):
    from simdesk.accounts.models import PersonalAccessToken

    alice.language, alice.time_zone = "zh-hans", "Asia/Shanghai"
    alice.save(update_fields=["language", "time_zone"])
    token, plaintext = token_create(user=alice, name="x", now=now)
    PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)

    with django_assert_num_queries(1):  # the last use is recent: nothing to write
        found = token_authenticate(plaintext=plaintext, now=now + timedelta(seconds=1))
        user = found.user

    expected = PersonalAccessToken.objects.select_related("user").get(pk=token.pk)
    for model_field in PersonalAccessToken._meta.concrete_fields:
        name = model_field.attname
        assert getattr(found, name) == getattr(expected, name), name
    for model_field in type(alice)._meta.concrete_fields:
        name = model_field.attname
        assert getattr(user, name) == getattr(expected.user, name), name
    assert user.zone.key == "Asia/Shanghai" and found.created_at.tzinfo is not None
