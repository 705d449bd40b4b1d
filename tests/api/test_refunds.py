"""Refunds of a period and plan changes over the API (the services are the portal's)."""

import json
from datetime import timedelta

import pytest

from simdesk.cards.models import PeriodState
from simdesk.orders.models import Order, RefundRequest
from simdesk.renewals.models import RenewalSettings
from tests.orders.conftest import bought, card, make_card, make_plan  # noqa: F401
from tests.orders.refund_fixtures import use

pytestmark = pytest.mark.django_db

GB = 10**9


@pytest.fixture
def frozen(time_machine, now):
    time_machine.move_to(now + timedelta(days=1), tick=False)


def refund_url(card, period):  # noqa: F811
    return f"/api/v1/cards/{card.public_id}/periods/{period.public_id}/refund"


def post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def test_it_quotes_then_refunds_an_unused_period_in_full_once(
        alice_api, bought, card, plan, now, frozen):  # noqa: F811
    period = bought(plan, at=now).period

    quote = alice_api.get(refund_url(card, period)).json()
    assert (quote["refundable"], quote["automatic"], quote["amount_minor"],
            quote["currency"]) == (True, True, 650, "USD")

    first = post(alice_api, refund_url(card, period), {"reason": "Trip cancelled"})
    second = post(alice_api, refund_url(card, period), {"reason": "Trip cancelled"})

    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["status"] == "refunded" and first.json()["amount_minor"] == 650
    assert second.json()["id"] == first.json()["id"]
    assert RefundRequest.objects.count() == 1
    quote = alice_api.get(refund_url(card, period)).json()
    assert quote["refundable"] is False and quote["request"]["status"] == "refunded"


def test_it_sends_a_used_period_to_staff_with_the_suggestion(
        alice_api, bought, card, plan, now, frozen):  # noqa: F811
    period = bought(plan, at=now).period
    use(card, GB, at=now + timedelta(hours=1))

    response = post(alice_api, refund_url(card, period), {})

    # 6.50 × min(6/7 days, 2/3 data) = 4.33 (rounded down)
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["suggested_minor"]) == ("pending", 433)


def test_it_explains_a_period_that_cannot_be_refunded(alice_api, card, plan, now,  # noqa: F811
                                                      frozen):
    from simdesk.cards.services import period_create

    gift = period_create(card=card, plan=plan, source="staff:gift", now=now)

    quote = alice_api.get(refund_url(card, gift)).json()
    refused = post(alice_api, refund_url(card, gift), {})

    assert (quote["refundable"], quote["refusal_code"]) == (False, "period_not_refundable")
    assert refused.status_code == 400 and refused.json()["code"] == "period_not_refundable"


def test_it_opens_the_plan_change_order_with_its_refund(
        alice_api, bought, card, plan, make_plan, now, frozen):  # noqa: F811
    old = bought(plan, at=now).period
    bigger = make_plan("japan-10gb-7d", data_bytes=10 * GB, validity_days=7,
                       prices={"USD": 1500})
    body = {"plan": bigger.code, "when": "now", "currency": "USD"}

    missing_key = post(alice_api, f"/api/v1/cards/{card.public_id}/plan-change", body)
    response = post(alice_api, f"/api/v1/cards/{card.public_id}/plan-change", body,
                    HTTP_IDEMPOTENCY_KEY="change-1")

    assert missing_key.status_code == 400
    assert response.status_code == 200
    data = response.json()
    # 6.50 × 6/7 days = 5.57 (rounded down), refunded once the 15.00 order is paid
    assert (data["refund_minor"], data["refund_currency"]) == (557, "USD")
    assert data["order"]["total_minor"] == 1500
    assert Order.objects.get(public_id=data["order"]["id"]).replaces_period == old
    old.refresh_from_db()
    assert old.state == PeriodState.ACTIVE  # nothing ends before the payment


def test_it_changes_what_renewal_buys_at_period_end(alice_api, bought, card, plan, make_plan,  # noqa: F811
                                                     now, frozen):
    bought(plan, at=now)
    bigger = make_plan("japan-10gb-7d", data_bytes=10 * GB, validity_days=7,
                       prices={"USD": 1500})

    response = post(alice_api, f"/api/v1/cards/{card.public_id}/plan-change",
                    {"plan": bigger.code, "when": "at_period_end", "currency": "USD"})

    assert response.status_code == 200 and response.json()["renewal_enabled"] is False
    assert RenewalSettings.objects.get(card=card).plan == bigger


@pytest.mark.parametrize("body", [
    {"plan": "japan-3gb-7d", "when": "tomorrow", "currency": "USD"},
    {"plan": "", "when": "now", "currency": "USD"},
    {"plan": "japan-3gb-7d", "when": "now"},
    {"plan": "no-such-plan", "when": "now", "currency": "USD"},
])
def test_it_refuses_bad_plan_changes_with_a_problem(alice_api, bought, card, plan, now,  # noqa: F811
                                                     frozen, body):
    bought(plan, at=now)

    response = post(alice_api, f"/api/v1/cards/{card.public_id}/plan-change", body,
                    HTTP_IDEMPOTENCY_KEY="k")

    assert 400 <= response.status_code < 500
    assert response.json()["code"]
