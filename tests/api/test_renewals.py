"""A card's auto-renewal settings over the API."""

import json

import pytest

from simdesk.renewals.models import RenewalSettings
from tests.orders.conftest import bob, make_card, make_plan, plan  # noqa: F401
from tests.renewals.conftest import card, current_period, saved_method, started  # noqa: F401

pytestmark = pytest.mark.django_db


def put(client, card, body):  # noqa: F811
    return client.put(f"/api/v1/cards/{card.public_id}/renewal", json.dumps(body),
                      content_type="application/json")


def test_it_reads_the_defaults_of_a_card_never_set_up(alice_api, card, current_period):  # noqa: F811
    response = alice_api.get(f"/api/v1/cards/{card.public_id}/renewal")

    assert response.status_code == 200
    data = response.json()
    assert data["enabled"] is False
    assert data["plan"] == "europe-5gb-30d"
    assert data["payment_method"] is None


def test_it_switches_auto_renewal_on(alice_api, card, current_period, saved_method):  # noqa: F811
    method = saved_method()

    response = put(alice_api, card, {"enabled": True, "currency": "USD",
                                     "trigger_before_expiry_hours": 48,
                                     "payment_method": str(method.public_id)})

    assert response.status_code == 200
    assert response.json()["enabled"] is True
    rs = RenewalSettings.objects.get(card=card)
    assert (rs.enabled, rs.trigger_before_expiry_hours, rs.payment_method) == (True, 48, method)
    assert alice_api.get(f"/api/v1/cards/{card.public_id}/renewal").json()[
        "payment_method"] == str(method.public_id)


def test_it_refuses_to_switch_on_without_a_payment_method(alice_api, card, current_period):  # noqa: F811
    response = put(alice_api, card, {"enabled": True, "currency": "USD",
                                     "trigger_before_expiry_hours": 24})

    assert response.status_code == 400
    assert response.json()["code"] == "no_payment_method"
    assert not RenewalSettings.objects.filter(card=card, enabled=True).exists()


def test_it_names_a_trigger_out_of_range(alice_api, card, current_period):  # noqa: F811
    response = put(alice_api, card, {"enabled": False, "currency": "USD",
                                     "trigger_low_data_percent": 150})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "trigger_low_data_percent"


def test_it_refuses_another_customers_payment_method(alice_api, bob, card,  # noqa: F811
                                                     current_period, saved_method):  # noqa: F811
    bobs = saved_method(customer=bob, token="sbxpm_bob")  # noqa: S106

    response = put(alice_api, card, {"enabled": True, "currency": "USD",
                                     "trigger_before_expiry_hours": 24,
                                     "payment_method": str(bobs.public_id)})

    assert response.status_code == 404
    assert not RenewalSettings.objects.filter(card=card, enabled=True).exists()


def test_it_answers_404_for_another_customers_card(alice_api, bob, make_card):  # noqa: F811
    bobs_card = make_card(owner=bob)

    read = alice_api.get(f"/api/v1/cards/{bobs_card.public_id}/renewal")
    write = put(alice_api, bobs_card, {"enabled": False, "currency": "USD"})

    assert (read.status_code, write.status_code) == (404, 404)
    assert not RenewalSettings.objects.filter(card=bobs_card).exists()
