"""Coming back from Alipay: the signed return is verified, then Alipay is asked (trade query)."""

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from simdesk.payments.models import PaymentStatus

from .peer import customer_at_alipay, new_key, sign_params, site_path

pytestmark = pytest.mark.django_db

RETURN = "http://127.0.0.1:8000/orders/x/"


def queries(peer) -> list[str]:
    return [request["method"] for request in peer.requests
            if request["method"] == "alipay.trade.query"]


def test_the_return_asks_alipay_and_goes_on_to_the_payments_page(
        alice_browser, start, alipay, django_capture_on_commit_callbacks, received):
    # given alice paid at the cashier, and Alipay's notify has not arrived
    payment, url = start()
    with django_capture_on_commit_callbacks(execute=True):
        seen = customer_at_alipay(alice_browser, url, outcome="succeeded")
    # then her browser came back through the return page to the payment's own page
    assert urlsplit(seen.back_to_simdesk).path == "/payments/alipay/return/"
    assert (seen.final.status_code, seen.final["Location"]) == (302, RETURN)
    # and simdesk asked Alipay (the return itself proves nothing) and took its word
    assert queries(alipay) == ["alipay.trade.query"]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_succeeded", payment.pk)]
    assert payment.history.get().source == "reconcile"


def test_a_return_whose_trade_alipay_has_not_settled_changes_nothing(
        alice_browser, start, alipay):
    # a return for a trade Alipay still holds as unpaid (signed correctly)
    payment, url = start()
    seen = customer_at_alipay(alice_browser, url, outcome="succeeded", come_back=False)
    alipay.trade(payment.gateway_payment_id).status = "WAIT_BUYER_PAY"
    response = alice_browser.get(site_path(seen.back_to_simdesk))
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


@pytest.mark.parametrize("tamper", ["amount", "other key", "no sign", "repeated"])
def test_a_return_not_signed_by_alipay_is_a_400_page(alice_browser, start, alipay, tamper):
    payment, url = start()
    seen = customer_at_alipay(alice_browser, url, outcome="succeeded", come_back=False)
    split = urlsplit(seen.back_to_simdesk)
    params = dict(parse_qsl(split.query))
    query = ""
    if tamper == "amount":
        params["total_amount"] = "0.01"
    elif tamper == "other key":
        params = sign_params(new_key(), {k: v for k, v in params.items()
                                         if k not in ("sign", "sign_type")})
    elif tamper == "no sign":
        del params["sign"]
    else:
        query = "&out_trade_no=" + params["out_trade_no"]
    response = alice_browser.get(f"{split.path}?{urlencode(params)}{query}")
    assert response.status_code == 400
    assert "not signed by Alipay" in response.content.decode()
    # and Alipay was not even asked: nothing changed
    assert queries(alipay) == []
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_a_signed_return_about_a_trade_simdesk_does_not_know_is_a_404_page(client, alipay):
    params = sign_params(alipay.key, {
        "app_id": "2021000149600001", "out_trade_no": "sd_unknown", "trade_no": "1",
        "total_amount": "1.00", "charset": "utf-8", "method": "alipay.trade.page.pay.return",
        "timestamp": "2026-11-25 12:00:00", "version": "1.0"})
    response = client.get(f"/payments/alipay/return/?{urlencode(params)}")
    assert response.status_code == 404


def test_a_return_after_alipay_was_switched_off_goes_on_and_changes_nothing(
        alice_browser, start, alipay, settings):
    payment, url = start()
    seen = customer_at_alipay(alice_browser, url, outcome="succeeded", come_back=False)
    settings.PAYMENT_GATEWAYS = ["sandbox"]
    response = alice_browser.get(site_path(seen.back_to_simdesk))
    assert (response.status_code, response["Location"]) == (302, RETURN)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
