"""Refunds with alipay.trade.refund: idempotent at Alipay by out_request_no."""

import pytest

from simdesk.core.errors import Conflict
from simdesk.payments.gateways import get_gateway
from simdesk.payments.gateways.alipay.client import AlipayCallFailed, AlipayClient
from simdesk.payments.gateways.base import GatewayError
from simdesk.payments.models import PaymentStatus, Refund
from simdesk.payments.services import payment_refund

from .peer import customer_at_alipay, deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(alice_browser, start, alipay):
    """alice's 68.00 CNY, paid at Alipay and confirmed by its notify."""
    payment, url = start()
    customer_at_alipay(alice_browser, url, outcome="succeeded", come_back=False)
    deliver(alice_browser, alipay.take_notifies())
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    return payment


def refund_requests(peer) -> list[dict]:
    return [r for r in peer.requests if r["method"] == "alipay.trade.refund"]


def test_it_refunds_in_full(paid, alipay, now):
    refund = payment_refund(payment=paid, amount_minor=6800, idempotency_key="refund-1",
                            now=now)
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_minor) == (PaymentStatus.REFUNDED, 6800)
    trade = alipay.trade(paid.gateway_payment_id)
    assert (trade.status, str(trade.refunded)) == ("TRADE_CLOSED", "68.00")
    # the refund's id is the out_request_no Alipay knows it by
    assert list(trade.refunds) == [refund.gateway_refund_id]
    assert '"refund_amount":"68.00"' in refund_requests(alipay)[0]["biz_content"]


def test_it_refunds_in_parts_never_beyond_what_is_left(paid, alipay, now):
    payment_refund(payment=paid, amount_minor=1800, idempotency_key="refund-1", now=now)
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_minor) == (PaymentStatus.PARTIALLY_REFUNDED, 1800)
    # beyond what is left: refused by the gateway before Alipay is asked
    with pytest.raises(GatewayError):
        get_gateway("alipay").refund(payment=paid, amount_minor=5001, idempotency_key="too-much")
    with pytest.raises(Conflict):
        payment_refund(payment=paid, amount_minor=5001, idempotency_key="refund-2", now=now)
    assert len(refund_requests(alipay)) == 1
    payment_refund(payment=paid, amount_minor=5000, idempotency_key="refund-3", now=now)
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_minor) == (PaymentStatus.REFUNDED, 6800)
    assert str(alipay.trade(paid.gateway_payment_id).refunded) == "68.00"


def test_alipay_itself_refuses_more_than_is_left(paid, alipay):
    # even if simdesk's own check were wrong, Alipay says no (and it is a GatewayError)
    client = AlipayClient.from_settings()
    with pytest.raises(AlipayCallFailed) as refused:
        client.trade_refund(out_trade_no=paid.gateway_payment_id, refund_amount="68.01",
                            out_request_no="rf_too_much")
    assert refused.value.sub_code == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"
    assert isinstance(refused.value, GatewayError)
    assert alipay.trade(paid.gateway_payment_id).refunded == 0


def test_one_refund_key_is_one_refund_at_alipay(paid, alipay, now):
    gateway = get_gateway("alipay")
    # the gateway is asked twice with the same key (say, a crash before simdesk saved it)
    first = gateway.refund(payment=paid, amount_minor=1800, idempotency_key="refund-1")
    again = gateway.refund(payment=paid, amount_minor=1800, idempotency_key="refund-1")
    assert first == again
    assert str(alipay.trade(paid.gateway_payment_id).refunded) == "18.00"
    requests = refund_requests(alipay)
    assert len(requests) == 2 and requests[0]["biz_content"] == requests[1]["biz_content"]
    # and through simdesk the same key returns the same refund without asking again
    refund = payment_refund(payment=paid, amount_minor=1800, idempotency_key="refund-2",
                            now=now)
    assert payment_refund(payment=paid, amount_minor=1800, idempotency_key="refund-2",
                          now=now).pk == refund.pk
    assert len(refund_requests(alipay)) == 3 and Refund.objects.count() == 1


def test_a_cross_border_refund_is_in_the_trade_currency(alice_browser, start, alipay, now):
    payment, url = start(amount_minor=1200, currency="JPY")
    customer_at_alipay(alice_browser, url, outcome="succeeded", come_back=False)
    deliver(alice_browser, alipay.take_notifies())
    payment.refresh_from_db()
    payment_refund(payment=payment, amount_minor=200, idempotency_key="refund-1", now=now)
    biz = refund_requests(alipay)[0]["biz_content"]
    assert '"refund_amount":"200"' in biz and '"refund_currency":"JPY"' in biz
    assert str(alipay.trade(payment.gateway_payment_id).refunded) == "200"


def test_alipay_refuses_one_out_request_no_for_two_amounts(paid, alipay):
    client = AlipayClient.from_settings()
    client.trade_refund(out_trade_no=paid.gateway_payment_id, refund_amount="1.00",
                        out_request_no="rf_same")
    with pytest.raises(AlipayCallFailed) as refused:
        client.trade_refund(out_trade_no=paid.gateway_payment_id, refund_amount="2.00",
                            out_request_no="rf_same")
    assert refused.value.sub_code == "ACQ.INVALID_PARAMETER"
    assert str(alipay.trade(paid.gateway_payment_id).refunded) == "1.00"


def test_a_recorded_full_refund_asked_again_at_the_gateway_is_the_same_refund(paid, alipay,
                                                                             now):
    # simdesk recorded a full refund; then the gateway is asked again with its key
    refund = payment_refund(payment=paid, amount_minor=6800, idempotency_key="refund-1",
                            now=now)
    paid.refresh_from_db()
    again = get_gateway("alipay").refund(payment=paid, amount_minor=6800,
                                         idempotency_key="refund-1")
    # then Alipay answers with the same refund and no money moves twice
    assert again.refund_id == refund.gateway_refund_id
    assert str(alipay.trade(paid.gateway_payment_id).refunded) == "68.00"
    # while a new key finds nothing left
    with pytest.raises(GatewayError):
        get_gateway("alipay").refund(payment=paid, amount_minor=1, idempotency_key="refund-2")
