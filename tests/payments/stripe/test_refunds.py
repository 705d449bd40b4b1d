"""Refunds of Stripe payments, against the local Stripe peer."""

import pytest

from simdesk.payments.gateways import get_gateway
from simdesk.payments.gateways.base import GatewayError, Outcome
from simdesk.payments.models import PaymentStatus, Refund
from simdesk.payments.services import payment_refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(begin, confirm):
    """alice paid 9.99 USD by card."""
    payment, _url = begin()
    assert confirm(payment).json()["status"] == "succeeded"
    payment.refresh_from_db()
    return payment


def _refunds(stripe, payment) -> list[dict]:
    return stripe.api("GET", "/v1/refunds", payment_intent=payment.gateway_payment_id)["data"]


def test_it_refunds_in_full(paid, stripe, now):
    refund = payment_refund(payment=paid, amount_minor=999, idempotency_key="refund-1", now=now)
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_minor) == (PaymentStatus.REFUNDED, 999)
    [at_stripe] = _refunds(stripe, paid)
    assert (at_stripe["id"], at_stripe["amount"]) == (refund.gateway_refund_id, 999)
    [create] = [r for r in stripe.requests() if r["path"] == "/v1/refunds"]
    assert create["idempotency_key"] == "simdesk:refund:refund-1"


def test_it_refunds_in_parts_and_never_more_than_is_left(paid, stripe, now):
    payment_refund(payment=paid, amount_minor=300, idempotency_key="refund-1", now=now)
    with pytest.raises(GatewayError):
        get_gateway("stripe").refund(payment=paid, amount_minor=700,
                                     idempotency_key="refund-too-much")
    assert [r["amount"] for r in _refunds(stripe, paid)] == [300]
    payment_refund(payment=paid, amount_minor=699, idempotency_key="refund-2", now=now)
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_minor) == (PaymentStatus.REFUNDED, 999)
    # and Stripe's view of the payment says so too
    assert get_gateway("stripe").query_status(payment=paid).refunded_minor == 999


def test_the_same_refund_key_refunds_once(paid, stripe, now):
    gateway = get_gateway("stripe")
    first = gateway.refund(payment=paid, amount_minor=300, idempotency_key="refund-1")
    # asked again (simdesk lost the answer): the same refund, nothing more refunded
    again = gateway.refund(payment=paid, amount_minor=300, idempotency_key="refund-1")
    assert again == first
    assert [r["amount"] for r in _refunds(stripe, paid)] == [300]
    # and through simdesk, one Refund row
    payment_refund(payment=paid, amount_minor=300, idempotency_key="refund-9", now=now)
    payment_refund(payment=paid, amount_minor=300, idempotency_key="refund-9", now=now)
    assert Refund.objects.count() == 1
    assert sum(r["amount"] for r in _refunds(stripe, paid)) == 600


def test_a_payment_that_did_not_succeed_cannot_be_refunded(begin, confirm, stripe):
    from . import local

    payment, _url = begin()
    confirm(payment, local.CARD_DECLINED)
    payment.refresh_from_db()
    with pytest.raises(GatewayError):
        get_gateway("stripe").refund(payment=payment, amount_minor=100, idempotency_key="r")
    assert get_gateway("stripe").query_status(payment=payment).outcome == Outcome.FAILED
