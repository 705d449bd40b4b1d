# ruff: noqa: F811 (fixtures imported from the privacy tests are used as arguments)
"""Settings → Your data: download everything (password again), delete the account
(password and the e-mail address typed again)."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from simdesk.accounts.models import User
from simdesk.orders.services import order_create
from tests.privacy.conftest import (  # noqa: F401
    GB,
    PASSWORD,
    alices,
    bob,
    bobs,
    gateway_says,
    make_card,
    make_history,
    make_plan,
    plan,
)


@pytest.fixture
def signed_in(alices):
    client = Client()
    client.force_login(alices.user)
    return client


def _download(client, password=PASSWORD):
    return client.post(reverse("portal:your_data_download"), {"download-password": password})


def _delete(client, password=PASSWORD, confirm="alice@example.com"):
    return client.post(reverse("portal:account_delete"),
                       {"delete-password": password, "delete-confirm_email": confirm})


def test_it_is_linked_from_the_settings_page(signed_in):
    page = signed_in.get(reverse("portal:settings")).content.decode()

    assert reverse("portal:your_data") in page


def test_it_needs_a_signed_in_customer(db):
    response = Client().get(reverse("portal:your_data"))

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_it_shows_both_actions(signed_in):
    response = signed_in.get(reverse("portal:your_data"))

    page = response.content.decode()
    assert response.status_code == 200
    assert reverse("portal:your_data_download") in page
    assert reverse("portal:account_delete") in page
    assert 'name="download-password"' in page and 'name="delete-confirm_email"' in page


def test_it_downloads_the_customers_data_as_a_dated_attachment(signed_in, alices, bobs):
    response = _download(signed_in)

    assert response.status_code == 200
    assert response.streaming
    today = timezone.now().date().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="simdesk-my-data-{today}.json"')
    assert response["Content-Type"].startswith("application/json")
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    body = b"".join(response.streaming_content).decode()
    data = json.loads(body)
    assert data["profile"]["email"] == "alice@example.com"
    assert {c["iccid"] for c in data["cards"]} == {alices.card.iccid, alices.esim.iccid}
    assert "bob@example.com" not in body and bobs.card.iccid not in body


def test_it_refuses_the_download_with_a_wrong_password(signed_in):
    response = _download(signed_in, password="not my password")

    assert response.status_code == 400
    assert "Content-Disposition" not in response
    assert "Incorrect password." in response.content.decode()


def test_it_refuses_the_download_without_a_password(signed_in):
    response = _download(signed_in, password="")

    assert response.status_code == 400
    assert "Content-Disposition" not in response


def test_it_deletes_the_account_signs_out_and_the_password_no_longer_works(signed_in, alices):
    other_device = Client()
    other_device.force_login(alices.user)

    response = _delete(signed_in)

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:account_deleted")
    assert "deleted" in signed_in.get(response["Location"]).content.decode()
    alice = User.objects.get(pk=alices.user.pk)
    assert alice.deleted_at is not None and alice.email.endswith("@deleted.invalid")
    for client in (signed_in, other_device):
        assert client.get(reverse("portal:settings")).status_code == 302
    login = Client().post(reverse("account_login"),
                          {"login": "alice@example.com", "password": PASSWORD})
    assert "_auth_user_id" not in login.client.session


def test_it_refuses_deletion_with_a_wrong_password(signed_in, alices):
    response = _delete(signed_in, password="not my password")

    assert response.status_code == 400
    assert "Incorrect password." in response.content.decode()
    assert User.objects.get(pk=alices.user.pk).deleted_at is None


def test_it_refuses_deletion_when_the_typed_address_is_not_the_accounts(signed_in, alices):
    response = _delete(signed_in, confirm="bob@example.com")

    assert response.status_code == 400
    assert "not your account" in response.content.decode()
    assert User.objects.get(pk=alices.user.pk).deleted_at is None


def test_it_accepts_the_typed_address_in_any_letter_case(signed_in, alices):
    response = _delete(signed_in, confirm="  Alice@Example.COM ")

    assert response.status_code == 302


def test_it_explains_why_it_cannot_delete_while_an_order_awaits_payment(signed_in, alices,
                                                                        plan):
    order_create(customer=alices.user, card=alices.card, plan=plan, currency="USD",
                 idempotency_key="alice-open", now=timezone.now())

    page = signed_in.get(reverse("portal:your_data")).content.decode()
    response = _delete(signed_in)

    assert "waiting for payment" in page
    assert response.status_code == 409
    assert "waiting for payment" in response.content.decode()
    assert User.objects.get(pk=alices.user.pk).deleted_at is None


def test_it_lets_an_expired_unpaid_order_not_block_deletion(signed_in, alices, plan):
    order_create(customer=alices.user, card=alices.card, plan=plan, currency="USD",
                 idempotency_key="alice-old", now=timezone.now() - timedelta(days=3))
    from simdesk.orders.services import orders_expire

    orders_expire(now=timezone.now())

    assert _delete(signed_in).status_code == 302


@pytest.mark.parametrize("url_name", ["portal:your_data_download", "portal:account_delete"])
def test_it_needs_the_csrf_token(alices, url_name):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alices.user)
    data = {"download-password": PASSWORD, "delete-password": PASSWORD,
            "delete-confirm_email": "alice@example.com"}

    refused = client.post(reverse(url_name), data)
    client.get(reverse("portal:your_data"))
    allowed = client.post(reverse(url_name),
                          {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})

    assert refused.status_code == 403
    assert allowed.status_code in (200, 302)
    assert User.objects.get(pk=alices.user.pk).deleted_at is None or url_name.endswith("delete")


def test_it_does_not_answer_get_on_the_actions(signed_in):
    assert signed_in.get(reverse("portal:your_data_download")).status_code == 405
    assert signed_in.get(reverse("portal:account_delete")).status_code == 405


def test_it_never_fails_with_a_server_error_after_many_wrong_passwords(signed_in, alices):
    statuses = {_download(signed_in, password=f"wrong {i}").status_code for i in range(8)}
    statuses |= {_delete(signed_in, password=f"wrong {i}").status_code for i in range(3)}

    assert statuses <= {400, 429}
    assert User.objects.get(pk=alices.user.pk).deleted_at is None
