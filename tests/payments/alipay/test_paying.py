"""Paying with Alipay: simdesk's pay address, Alipay's cashier (the peer), the way back.

Every call to Alipay goes over real HTTP to the local peer, which checks the
app's RSA2 signature on each request and signs what it sends with its own key.
"""

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import time_machine
from django.utils import timezone, translation

from simdesk.core.errors import ServiceError
from simdesk.orders.models import OrderStatus
from simdesk.orders.services import order_create, order_pay
from simdesk.payments.gateways import get_gateway
from simdesk.payments.gateways.alipay.gateway import out_trade_no_for
from simdesk.payments.gateways.base import GatewayError
from simdesk.payments.models import Payment, PaymentStatus

from .peer import browse, customer_at_alipay, deliver

pytestmark = pytest.mark.django_db

RETURN = "http://127.0.0.1:8000/orders/x/"

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
DESKTOP = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/126.0 Safari/537.36")


def signed_request(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


@pytest.mark.django_db(transaction=True)
def test_a_cny_order_paid_with_alipay_is_fulfilled(alipay, alice, card, make_plan, client):
    # given alice's order of a plan priced 68.00 CNY
    now = timezone.now()
    plan = make_plan(prices={"CNY": 6800})
    order = order_create(customer=alice, card=card, plan=plan, currency="CNY",
                         idempotency_key="buy-1", now=now)
    # when she chooses Alipay, pays at the cashier and Alipay's notify arrives
    start = order_pay(order=order, gateway="alipay", return_url="http://127.0.0.1:8000/o/",
                      now=now)
    client.force_login(alice)
    seen = customer_at_alipay(client, start, outcome="succeeded", come_back=False)
    responses = deliver(client, alipay.take_notifies())
    # then Alipay read "success", the order is paid and its period made
    assert [(r.status_code, r.content, r["Content-Type"]) for r in responses] == [
        (200, b"success", "text/plain")]
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert order.payment.status == PaymentStatus.SUCCEEDED
    # and Alipay was asked for 68.00 CNY, a domestic trade
    request = signed_request(seen.cashier_url)
    assert '"total_amount":"68.00"' in request["biz_content"]
    assert "trans_currency" not in request["biz_content"]
    assert alipay.trade(order.payment.gateway_payment_id).total_amount == "68.00"


def test_a_desktop_browser_gets_page_pay(alice_browser, start):
    payment, url = start()
    seen = customer_at_alipay(alice_browser, url, outcome="succeeded", user_agent=DESKTOP)
    assert signed_request(seen.cashier_url)["method"] == "alipay.trade.page.pay"
    assert 'data-cashier="page"' in seen.cashier.body


def test_a_phone_gets_wap_pay(alice_browser, start):
    payment, url = start()
    seen = customer_at_alipay(alice_browser, url, outcome="succeeded", user_agent=IPHONE)
    request = signed_request(seen.cashier_url)
    assert request["method"] == "alipay.trade.wap.pay"
    assert '"product_code":"QUICK_WAP_WAY"' in request["biz_content"]
    # leaving WAP pay without paying leads back to the payment's own page
    assert '"quit_url":"http://127.0.0.1:8000/orders/x/"' in request["biz_content"]
    assert 'data-cashier="wap"' in seen.cashier.body


def test_wap_pay_leads_back_to_an_absolute_address(alice_browser, start):
    payment, url = start(return_url="/orders/x/")
    seen = customer_at_alipay(alice_browser, url, outcome="succeeded", device="phone")
    request = signed_request(seen.cashier_url)
    assert '"quit_url":"http://127.0.0.1:8000/orders/x/"' in request["biz_content"]
    # and after paying, the customer lands on the payment's own page
    assert seen.final["Location"] == "/orders/x/"


def test_the_checkout_can_say_which_device_it_is(alice_browser, start):
    payment, url = start()
    phone = customer_at_alipay(alice_browser, url, outcome="succeeded", device="phone",
                               user_agent=DESKTOP, come_back=False)
    assert signed_request(phone.cashier_url)["method"] == "alipay.trade.wap.pay"
    other, other_url = start("order-2")
    desktop = customer_at_alipay(alice_browser, other_url, outcome="succeeded",
                                 device="desktop", user_agent=IPHONE, come_back=False)
    assert signed_request(desktop.cashier_url)["method"] == "alipay.trade.page.pay"


def test_one_idempotency_key_is_one_alipay_trade(start, alipay):
    payment, url = start("order-7")
    again, again_url = start("order-7")
    result = get_gateway("alipay").start_payment(payment=payment, return_url=RETURN,
                                                 save_method=False)
    assert again.pk == payment.pk and again_url == url
    assert result.gateway_payment_id == payment.gateway_payment_id == out_trade_no_for(payment)
    # an id Alipay accepts as out_trade_no: at most 64 of [A-Za-z0-9_]
    assert re.fullmatch(r"[A-Za-z0-9_]{1,64}", payment.gateway_payment_id)
    other, _url = start("order-8")
    assert other.gateway_payment_id != payment.gateway_payment_id


def test_the_cashier_address_is_signed_when_the_customer_leaves(alice_browser, start, alipay):
    # given a payment started an hour ago, and the Alipay address signed back then
    payment, url = start()
    with time_machine.travel(timezone.now() - timezone.timedelta(hours=1)):
        stale = alice_browser.get(url)["Location"]
    # then that address has expired at Alipay (its timestamp is too old)
    refused = browse(stale)
    assert refused.status == 400 and "isv.invalid-timestamp" in refused.body
    # while simdesk's own pay address signs a fresh one, which Alipay accepts
    seen = customer_at_alipay(alice_browser, url, outcome="succeeded")
    assert seen.cashier.status == 200


def test_alipay_refuses_a_cashier_address_changed_after_signing(alice_browser, start):
    payment, url = start()
    signed = alice_browser.get(url)["Location"]
    params = signed_request(signed)
    params["biz_content"] = params["biz_content"].replace('"68.00"', '"0.01"')
    tampered = f"{signed.split('?')[0]}?{urlencode(params)}"
    refused = browse(tampered)
    assert refused.status == 400 and "isv.invalid-signature" in refused.body


def test_only_the_customer_who_pays_opens_the_pay_address(client, start, make_user):
    payment, url = start()
    # nobody logged in: the login page first
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    # someone else: no such payment
    client.force_login(make_user("mallory@example.com"))
    assert client.get(url).status_code == 404


def test_a_paid_payment_has_nothing_left_to_pay(alice_browser, start, alipay):
    payment, url = start()
    customer_at_alipay(alice_browser, url, outcome="succeeded")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    # opening the pay address again leads to the payment's page, not to Alipay
    response = alice_browser.get(url)
    assert response.status_code == 302 and response["Location"] == RETURN


@pytest.mark.parametrize(("amount_minor", "currency", "total_amount"),
                         [(1999, "USD", "19.99"), (1200, "JPY", "1200"), (999, "EUR", "9.99")])
def test_another_currency_is_a_cross_border_trade_in_that_currency(
        alice_browser, start, alipay, amount_minor, currency, total_amount):
    payment, url = start(amount_minor=amount_minor, currency=currency)
    seen = customer_at_alipay(alice_browser, url, outcome="succeeded", come_back=False)
    biz = signed_request(seen.cashier_url)["biz_content"]
    assert f'"total_amount":"{total_amount}"' in biz
    assert f'"trans_currency":"{currency}"' in biz
    # and Alipay's notify, in the same currency, settles the payment
    assert [r.status_code for r in deliver(alice_browser, alipay.take_notifies())] == [200]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_a_currency_alipay_does_not_take_is_refused_before_leaving(start, settings, alipay):
    settings.CURRENCIES = [*settings.CURRENCIES, "BRL"]
    with pytest.raises(ServiceError) as refused:
        start(amount_minor=5000, currency="BRL")
    assert refused.value.code == "currency_not_supported"
    # in words the customer reads, in their language
    with translation.override("en"):
        english = str(refused.value.message)
    assert "Alipay" in english and "BRL" in english
    assert not Payment.objects.exclude(gateway_payment_id="").exists()


def test_alipay_keeps_no_payment_methods(start, alipay):
    gateway = get_gateway("alipay")
    payment, _url = start()
    assert gateway.supports_saved_methods is False
    with pytest.raises(GatewayError) as refused:
        gateway.charge_saved_method(payment=payment, method_token="anything")
    assert "one-off" in refused.value.detail


def test_a_payment_started_before_alipay_was_switched_off_is_not_sent_there(
        alice_browser, start, settings):
    payment, url = start()
    settings.PAYMENT_GATEWAYS = ["sandbox"]
    response = alice_browser.get(url)
    assert response.status_code == 503
    assert "choose another payment method" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_alice_pays_an_order_with_alipay_from_the_checkout_page(alipay, alice, card, make_plan,
                                                                 client):
    # given alice reviewing her order of a 68.00 CNY plan, logged in on her phone
    plan = make_plan(prices={"CNY": 6800})
    order = order_create(customer=alice, card=card, plan=plan, currency="CNY",
                         idempotency_key="buy-1", now=timezone.now())
    client.force_login(alice)
    # when she chooses Alipay on the checkout page
    response = client.post(f"/checkout/{order.public_id}/pay/", {"gateway": "alipay"})
    assert response.status_code == 302, response.content.decode()[:500]
    # and pays in Alipay's WAP cashier, coming back through simdesk's return page
    seen = customer_at_alipay(client, response["Location"], outcome="succeeded",
                              user_agent=IPHONE)
    assert signed_request(seen.cashier_url)["method"] == "alipay.trade.wap.pay"
    # then she lands on her order, already paid and fulfilled (the trade query said so)
    assert seen.final["Location"].endswith(f"/orders/{order.public_id}/")
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    # and Alipay's notify, arriving after, changes nothing and is answered "success"
    assert [r.content for r in deliver(client, alipay.take_notifies())] == [b"success"]
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
