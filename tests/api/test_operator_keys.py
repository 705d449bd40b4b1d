"""Operator API keys: issued by staff, shown once, stored hashed, revocable."""

import hashlib

import pytest
from django.contrib.messages import get_messages

from simdesk.api.keys import operator_key_authenticate, operator_key_create, operator_key_revoke
from simdesk.api.models import OperatorApiKey
from simdesk.core.errors import ServiceError

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_user):
    return make_user("ops@example.com", is_staff=True, is_superuser=True)


def test_it_stores_only_the_hash_of_the_key(staff, now):
    key, token = operator_key_create(name="billing", scopes=["cards:read"], created_by=staff,
                                     now=now)

    key.refresh_from_db()
    assert token.startswith(f"sdo_{key.prefix}_")
    assert key.key_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = [str(value) for value in OperatorApiKey.objects.values().get().values()]
    assert token not in stored
    assert token.rsplit("_", 1)[1] not in " ".join(stored)


def test_it_authenticates_the_key_until_it_is_revoked(staff, now):
    key, token = operator_key_create(name="billing", scopes=["cards:read"], created_by=staff,
                                     now=now)
    assert operator_key_authenticate(token=token, now=now) == key

    operator_key_revoke(key=key, now=now)
    operator_key_revoke(key=key, now=now)

    assert operator_key_authenticate(token=token, now=now) is None
    assert OperatorApiKey.objects.get().revoked_at == now


@pytest.mark.parametrize("scopes", [[], ["cards:delete"], ["cards:read", "root"]])
def test_it_refuses_scopes_outside_the_vocabulary(staff, now, scopes):
    with pytest.raises(ServiceError):
        operator_key_create(name="x", scopes=scopes, created_by=staff, now=now)

    assert OperatorApiKey.objects.count() == 0


def test_it_lets_only_staff_issue_keys(alice, now):
    with pytest.raises(ServiceError):
        operator_key_create(name="x", scopes=["cards:read"], created_by=alice, now=now)


def test_it_shows_the_new_key_once_in_the_admin(client, staff):
    client.force_login(staff)

    response = client.post("/admin/api/operatorapikey/add/",
                           {"name": "warehouse", "scopes": ["cards:read", "cards:admin"]},
                           follow=True)

    assert response.status_code == 200
    key = OperatorApiKey.objects.get()
    assert (key.name, key.scopes, key.created_by) == ("warehouse", ["cards:admin", "cards:read"],
                                                      staff)
    shown = [str(m) for m in get_messages(response.wsgi_request)] + [response.content.decode()]
    token = next(word for text in shown for word in text.split() if word.startswith("sdo_"))
    assert operator_key_authenticate(token=token.strip(".,;"), now=key.created_at) == key
    again = client.get(f"/admin/api/operatorapikey/{key.pk}/change/").content.decode()
    assert token not in again


def test_it_revokes_keys_from_the_admin_list(client, staff, now):
    key, token = operator_key_create(name="old", scopes=["cards:read"], created_by=staff,
                                     now=now)
    client.force_login(staff)

    client.post("/admin/api/operatorapikey/", {"action": "revoke",
                                               "_selected_action": [key.pk]})

    key.refresh_from_db()
    assert key.revoked_at is not None
    assert operator_key_authenticate(token=token, now=now) is None
