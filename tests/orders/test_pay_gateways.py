"""Paying an order with a gateway that cannot keep payment methods, and what order_pay
does when the order changes while the gateway is being asked."""

import pytest

from simdesk.core.errors import Conflict, ServiceError
from simdesk.orders.models import Order, OrderStatus
from simdesk.orders.services import order_create, order_mark_paid, order_pay
from simdesk.payments.models import Payment

from .gateways import OneOffGateway, oneoff  # noqa: F401

pytestmark = pytest.mark.django_db

RETURN_URL = "http://testserver/orders/x/"


@pytest.fixture
def order(alice, card, plan, now):
    return order_create(customer=alice, card=card, plan=plan, currency="USD", coupon_code="",
                        idempotency_key="key-1", now=now)


def test_it_starts_a_payment_on_a_gateway_that_cannot_save_methods(order, oneoff, now):  # noqa: F811
    url = order_pay(order=order, gateway="oneoff", return_url=RETURN_URL, now=now)

    payment = Payment.objects.get()
    assert url == f"/oneoff/pay/{payment.public_id}"
    assert (payment.gateway, payment.save_method) == ("oneoff", False)
    assert oneoff.calls == [(f"{order.reference}:1", False)]


def test_it_refuses_to_remember_a_method_with_a_gateway_that_cannot(order, oneoff, now):  # noqa: F811
    with pytest.raises(ServiceError, match="cannot be remembered") as refused:
        order_pay(order=order, gateway="oneoff", return_url=RETURN_URL, now=now,
                  save_method=True)

    assert refused.value.code == "cannot_save_method"
    assert not Payment.objects.exists()
    assert oneoff.calls == []
    order.refresh_from_db()
    assert (order.status, order.payment_attempts) == (OrderStatus.PENDING_PAYMENT, 0)


def test_the_attempt_is_recorded_on_the_order_before_the_gateway_is_asked(
        order, oneoff, now):  # noqa: F811
    seen = []
    oneoff.during_start = lambda payment: seen.append(
        Order.objects.values_list("payment_id", "payment_attempts").get(pk=order.pk))

    order_pay(order=order, gateway="oneoff", return_url=RETURN_URL, now=now)

    assert seen == [(Payment.objects.get().pk, 1)]


def test_it_refuses_an_order_paid_while_the_gateway_was_asked(order, oneoff, now):  # noqa: F811
    # Given a confirmation that lands while the gateway prepares its page
    oneoff.during_start = lambda payment: order_mark_paid(order=order, now=now)

    # When the pay form is sent, then the customer is not sent to a pay page
    with pytest.raises(Conflict, match="already paid"):
        order_pay(order=order, gateway="oneoff", return_url=RETURN_URL, now=now)
    order.refresh_from_db()
    assert order.paid_at == now


def test_a_gateway_error_leaves_the_attempt_open_for_the_next_submit(order, oneoff, now):  # noqa: F811
    from simdesk.payments.gateways.base import GatewayError

    def fail_once(payment):
        oneoff.during_start = None
        raise GatewayError(detail="timeout")

    oneoff.during_start = fail_once
    with pytest.raises(GatewayError):
        order_pay(order=order, gateway="oneoff", return_url=RETURN_URL, now=now)

    url = order_pay(order=order, gateway="oneoff", return_url=RETURN_URL, now=now)

    payment = Payment.objects.get()
    assert url == f"/oneoff/pay/{payment.public_id}"
    assert [key for key, _save in oneoff.calls] == [f"{order.reference}:1"] * 2
    order.refresh_from_db()
    assert (order.payment_id, order.payment_attempts) == (payment.pk, 1)


def test_switching_gateway_opens_a_new_attempt(order, oneoff, now):  # noqa: F811
    order_pay(order=order, gateway="sandbox", return_url=RETURN_URL, now=now)
    order_pay(order=order, gateway="oneoff", return_url=RETURN_URL, now=now)

    order.refresh_from_db()
    assert order.payment_attempts == 2
    assert order.payment.gateway == "oneoff"
    assert order.payment.idempotency_key == f"{order.reference}:2"
    assert OneOffGateway.calls == [(f"{order.reference}:2", False)]
