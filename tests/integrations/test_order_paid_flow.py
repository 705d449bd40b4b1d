"""The whole purchase over HTTP, with an integrator listening: paying on the sandbox's page
sends ``order.paid`` and ``period.activated`` to the integrator's endpoint, signed, once."""

import pytest

from simdesk.integrations.models import DeliveryStatus, WebhookDelivery
from simdesk.orders.models import OrderStatus
from tests.flows.conftest import card, plan  # noqa: F401
from tests.flows.test_buy_journey import checkout, log_in, pay


@pytest.mark.django_db(transaction=True)
def test_paying_through_the_sandbox_announces_the_paid_order_and_the_new_period(
        client, alice, card, plan, endpoint, receiver):  # noqa: F811
    log_in(client, alice)
    order = checkout(client, plan, currency="EUR")

    pay(client, order)

    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    by_type = {r.json["type"]: r for r in receiver.requests}
    assert sorted(by_type) == ["order.paid", "period.activated"]
    assert len(receiver.requests) == 2 and all(r.signature_ok for r in receiver.requests)
    paid = by_type["order.paid"].json["data"]
    assert paid == {
        "order": str(order.public_id), "customer": str(alice.public_id),
        "card": str(card.public_id), "new_esim": False, "plan": "europe-5gb-30d",
        "currency": "EUR", "subtotal_minor": 1100, "discount_minor": 0, "total_minor": 1100,
        "coupon_code": None, "paid_at": order.paid_at.isoformat(),
    }
    activated = by_type["period.activated"].json["data"]
    assert activated["period"] == str(order.period.public_id)
    assert activated["total_bytes"] == 5 * 10**9
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {
        DeliveryStatus.SUCCEEDED}
