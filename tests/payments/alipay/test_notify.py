"""Alipay's asynchronous notify at /webhooks/alipay/: verified, stored once, answered "success"."""

from urllib.parse import parse_qsl, urlencode

import pytest
from django.utils import translation

from simdesk.payments.models import InboundWebhookEvent, PaymentStatus

from .peer import customer_at_alipay, new_key, sign_params
from .peer import deliver as deliver_notifies

pytestmark = pytest.mark.django_db


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Deliver notifies, running what waits for the commit (the payment signals)."""

    def post(client, notifies):
        with django_capture_on_commit_callbacks(execute=True):
            return deliver_notifies(client, notifies)

    return post


@pytest.fixture
def paid_at_alipay(alice_browser, start, alipay):
    """alice paid 68.00 CNY at the cashier, stayed there; (payment, its notifies)."""
    payment, url = start()
    customer_at_alipay(alice_browser, url, outcome="succeeded", come_back=False)
    return payment, alipay.take_notifies()


def fields(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode()))


def form(params: dict[str, str]) -> bytes:
    return urlencode(params).encode()


def test_a_genuine_notify_pays_the_payment_and_is_answered_success(deliver,
        paid_at_alipay, alice_browser, received):
    payment, notifies = paid_at_alipay
    assert len(notifies) == 1 and notifies[0][0] == "http://127.0.0.1:8000/webhooks/alipay/"
    [response] = deliver(alice_browser, notifies)
    assert (response.status_code, response.content) == (200, b"success")
    assert response["Content-Type"] == "text/plain"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_succeeded", payment.pk)]
    event = InboundWebhookEvent.objects.get()
    notify = fields(notifies[0][1])
    assert (event.event_id, event.gateway_payment_id) == (notify["notify_id"],
                                                          payment.gateway_payment_id)
    assert (event.amount_minor, event.currency, event.type) == (
        6800, "CNY", "trade_status_sync:TRADE_SUCCESS")
    assert "sign" not in event.payload


def test_a_notify_delivered_twice_is_processed_once_and_answered_success_twice(deliver,
        paid_at_alipay, alice_browser, received):
    payment, notifies = paid_at_alipay
    responses = deliver(alice_browser, notifies + notifies)
    assert [(r.status_code, r.content) for r in responses] == [(200, b"success")] * 2
    assert InboundWebhookEvent.objects.count() == 1
    assert received == [("payment_succeeded", payment.pk)]


def test_a_notify_with_its_amount_changed_is_rejected_and_nothing_stored(deliver,
        paid_at_alipay, alice_browser):
    payment, [(url, body)] = paid_at_alipay
    params = fields(body)
    params["total_amount"] = "0.01"
    [response] = deliver(alice_browser, [(url, form(params))])
    assert response.status_code == 400
    assert response.json()["code"] == "bad_signature"
    assert not InboundWebhookEvent.objects.exists()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_a_notify_signed_with_another_key_is_rejected(deliver, paid_at_alipay, alice_browser):
    payment, [(url, body)] = paid_at_alipay
    params = {k: v for k, v in fields(body).items() if k not in ("sign", "sign_type")}
    forged = sign_params(new_key(), params)
    [response] = deliver(alice_browser, [(url, form(forged))])
    assert response.status_code == 400
    assert not InboundWebhookEvent.objects.exists()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_a_notify_for_another_app_is_rejected(deliver, paid_at_alipay, alice_browser, alipay):
    payment, [(url, body)] = paid_at_alipay
    params = {k: v for k, v in fields(body).items() if k not in ("sign", "sign_type")}
    params["app_id"] = "2021000149600002"
    # signed by Alipay itself, but for someone else's app
    [response] = deliver(alice_browser, [(url, form(sign_params(alipay.key, params)))])
    assert response.status_code == 400 and "not ours" in response.json()["detail"]
    assert not InboundWebhookEvent.objects.exists()


@pytest.mark.parametrize("amount", ["68.001", "68", "-68.00", "1e3", ""])
def test_a_signed_notify_with_an_unreadable_amount_is_malformed(deliver,
        paid_at_alipay, alice_browser, alipay, amount):
    payment, [(url, body)] = paid_at_alipay
    params = {k: v for k, v in fields(body).items() if k not in ("sign", "sign_type")}
    params["total_amount"] = amount
    [response] = deliver(alice_browser, [(url, form(sign_params(alipay.key, params)))])
    if amount == "68":
        # "68" is a plain amount of yuan: read as 68.00
        assert response.status_code == 200
        return
    assert response.status_code == 400 and response.json()["code"] == "malformed"
    assert not InboundWebhookEvent.objects.exists()


@pytest.mark.parametrize("body", [b"", b"not a form", b"sign=abc&sign=abd", b"\xff\xfe=1",
                                  b'{"trade_status": "TRADE_SUCCESS"}'])
def test_what_is_not_a_signed_notify_is_rejected(alipay, client, body):
    response = client.post("/webhooks/alipay/", data=body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert not InboundWebhookEvent.objects.exists()


def test_a_notify_for_an_amount_other_than_the_payment_is_held_for_staff(deliver,
        paid_at_alipay, alice_browser, alipay, received):
    # Alipay signed it, but the trade is for another amount than simdesk's payment
    payment, [(url, body)] = paid_at_alipay
    params = {k: v for k, v in fields(body).items() if k not in ("sign", "sign_type")}
    params["total_amount"] = "0.01"
    [response] = deliver(alice_browser, [(url, form(sign_params(alipay.key, params)))])
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING and received == []
    assert InboundWebhookEvent.objects.get().status == "failed"


def test_a_trade_closed_unpaid_fails_the_payment_with_a_reason_customers_read(deliver,
        alice_browser, start, alipay, received):
    payment, url = start()
    customer_at_alipay(alice_browser, url, outcome="declined")
    [response] = deliver(alice_browser, alipay.take_notifies())
    assert (response.status_code, response.content) == (200, b"success")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert received == [("payment_failed", payment.pk)]
    with translation.override("en"):
        assert payment.failure_reason == "The payment was cancelled."


def test_a_wait_buyer_pay_notify_changes_nothing(deliver, paid_at_alipay, alice_browser, alipay):
    payment, [(url, body)] = paid_at_alipay
    params = {k: v for k, v in fields(body).items() if k not in ("sign", "sign_type")}
    params.update(trade_status="WAIT_BUYER_PAY", notify_id="n-wait")
    [response] = deliver(alice_browser, [(url, form(sign_params(alipay.key, params)))])
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_the_notifies_about_refunds_move_nothing(deliver, paid_at_alipay, alice_browser, alipay,
                                                 now, received):
    from simdesk.payments.services import payment_refund

    payment, notifies = paid_at_alipay
    deliver(alice_browser, notifies)
    payment.refresh_from_db()
    payment_refund(payment=payment, amount_minor=1800, idempotency_key="r-1", now=now)
    payment_refund(payment=payment, amount_minor=5000, idempotency_key="r-2", now=now)
    refund_notifies = alipay.take_notifies()
    statuses = [fields(body)["trade_status"] for _url, body in refund_notifies]
    assert statuses == ["TRADE_SUCCESS", "TRADE_CLOSED"]
    responses = deliver(alice_browser, refund_notifies)
    assert [r.content for r in responses] == [b"success", b"success"]
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_minor) == (PaymentStatus.REFUNDED, 6800)
    assert received.count(("payment_succeeded", payment.pk)) == 1
    assert not any(name == "payment_failed" for name, _pk in received)


def test_a_payment_notify_that_names_no_refund_pays(deliver, paid_at_alipay, alice_browser,
                                                   alipay):
    payment, [(url, body)] = paid_at_alipay
    params = {k: v for k, v in fields(body).items() if k not in ("sign", "sign_type")}
    params["refund_fee"] = "0.00"
    [response] = deliver(alice_browser, [(url, form(sign_params(alipay.key, params)))])
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
