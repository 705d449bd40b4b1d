"""Reconciliation: alipay.trade.query tells what happened when the notify never came."""

import pytest

from simdesk.payments.gateways import get_gateway
from simdesk.payments.gateways.base import GatewayError, Outcome
from simdesk.payments.models import PaymentStatus
from simdesk.payments.services import payment_reconcile

from .peer import customer_at_alipay, new_key, public_pem

pytestmark = pytest.mark.django_db


def test_a_payment_whose_notify_was_lost_is_reconciled(
        alice_browser, start, alipay, now, django_capture_on_commit_callbacks, received):
    # given alice paid, closed the tab before coming back, and the notify was lost
    payment, url = start()
    customer_at_alipay(alice_browser, url, outcome="succeeded", come_back=False)
    alipay.take_notifies()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    # when the reconciliation sweep asks Alipay
    with django_capture_on_commit_callbacks(execute=True):
        changed = payment_reconcile(payment=payment, now=now)
    # then the payment is paid, announced once
    assert changed is True
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_succeeded", payment.pk)]
    assert get_gateway("alipay").query_status(payment=payment).outcome == Outcome.SUCCEEDED


def test_a_trade_alipay_does_not_know_yet_is_pending(start, alipay, now):
    # the customer never reached the cashier: Alipay answers ACQ.TRADE_NOT_EXIST
    payment, _url = start()
    assert get_gateway("alipay").query_status(payment=payment).outcome == Outcome.PENDING
    assert payment_reconcile(payment=payment, now=now) is False


def test_a_closed_trade_is_a_failed_payment(alice_browser, start, alipay, now):
    payment, url = start()
    customer_at_alipay(alice_browser, url, outcome="declined")
    status = get_gateway("alipay").query_status(payment=payment)
    assert (status.outcome, status.failure_code) == (Outcome.FAILED, "cancelled")


def test_a_trade_for_another_amount_never_settles_the_payment(alice_browser, start, alipay,
                                                               now):
    payment, url = start()
    customer_at_alipay(alice_browser, url, outcome="succeeded", come_back=False)
    alipay.trade(payment.gateway_payment_id).total_amount = "0.01"
    with pytest.raises(GatewayError) as failed:
        get_gateway("alipay").query_status(payment=payment)
    assert "0.01" in failed.value.detail
    assert payment_reconcile(payment=payment, now=now) is False
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_an_answer_not_signed_with_alipays_key_is_not_believed(alice_browser, start, alipay,
                                                               settings, now):
    payment, url = start()
    customer_at_alipay(alice_browser, url, outcome="succeeded", come_back=False)
    # simdesk holds another "Alipay public key" than the one the peer signs with
    settings.ALIPAY_PUBLIC_KEY = public_pem(new_key())
    with pytest.raises(GatewayError) as failed:
        get_gateway("alipay").query_status(payment=payment)
    assert "signature" in failed.value.detail
    assert payment_reconcile(payment=payment, now=now) is False
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_an_alipay_that_does_not_answer_is_a_gateway_error(start, alipay, settings, now):
    payment, _url = start()
    settings.ALIPAY_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(GatewayError):
        get_gateway("alipay").query_status(payment=payment)
    assert payment_reconcile(payment=payment, now=now) is False


def test_a_refused_request_is_a_gateway_error(start, alipay, settings):
    # Alipay does not know the app: an unsigned isv.invalid-app-id answer
    payment, _url = start()
    settings.ALIPAY_APP_ID = "2021000149600009"
    with pytest.raises(GatewayError) as failed:
        get_gateway("alipay").query_status(payment=payment)
    assert "invalid-app-id" in failed.value.detail
