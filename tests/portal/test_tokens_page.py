"""Settings → API access tokens: create (shown once), list, revoke."""

import pytest
from django.test import Client
from django.urls import reverse

from simdesk.accounts.models import PersonalAccessToken
from simdesk.accounts.tokens import token_create


@pytest.fixture
def signed_in(alice):
    client = Client()
    client.force_login(alice)
    return client


def test_it_is_linked_from_the_settings_page(signed_in):
    response = signed_in.get(reverse("portal:settings"))

    assert reverse("portal:access_tokens") in response.content.decode()


def test_it_shows_a_new_token_once(signed_in, alice):
    created = signed_in.post(reverse("portal:access_tokens"), {"name": "home server"})

    assert created.status_code == 200
    token = PersonalAccessToken.objects.get(user=alice)
    plaintext = created.context["plaintext"]
    assert plaintext.startswith(f"sdk_{token.prefix}_")
    assert plaintext in created.content.decode()
    assert "no-store" in created["Cache-Control"] or "no-cache" in created["Cache-Control"]
    again = signed_in.get(reverse("portal:access_tokens")).content.decode()
    assert "home server" in again
    assert plaintext not in again
    assert f"sdk_{token.prefix}_…" in again


def test_it_refuses_a_token_without_a_name(signed_in, alice):
    response = signed_in.post(reverse("portal:access_tokens"), {"name": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert not PersonalAccessToken.objects.filter(user=alice).exists()


def test_it_revokes_a_token(signed_in, alice, now):
    token, plaintext = token_create(user=alice, name="old", now=now)

    response = signed_in.post(reverse("portal:access_token_revoke", args=[token.public_id]))

    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}").get("/api/v1/me").status_code == 401


def test_it_cannot_revoke_another_customers_token(signed_in, make_user, now):
    bob = make_user("bob@example.com")
    token, _plaintext = token_create(user=bob, name="bob's", now=now)

    signed_in.post(reverse("portal:access_token_revoke", args=[token.public_id]))

    token.refresh_from_db()
    assert token.revoked_at is None


def test_it_asks_anonymous_visitors_to_sign_in(db):
    response = Client().get(reverse("portal:access_tokens"))

    assert response.status_code == 302
