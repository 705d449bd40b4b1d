"""PayPal (Orders v2 through paypal-server-sdk) against the local PayPal peer over HTTP.

The customer's browser is the test: it visits the approve link at the peer, comes
back to simdesk's return page through the Django test client, and the peer's
webhooks (signed with the peer's RSA key) are posted to /webhooks/paypal/.
"""

import json
import socket

import pytest
from django.urls import reverse

from simdesk.orders.models import OrderStatus
from simdesk.payments.gateways import get_gateway
from simdesk.payments.gateways.base import GatewayError, Outcome, PaymentDeclined
from simdesk.payments.models import (
    InboundWebhookEvent,
    Payment,
    PaymentStatus,
    Refund,
    SavedPaymentMethod,
)
from simdesk.payments.services import (
    payment_charge_saved_method,
    payment_reconcile,
    payment_refund,
)

from .conftest import local, post_webhook, visit_paypal
from .peer import PaypalPeer

pytestmark = pytest.mark.django_db


@pytest.fixture
def returns(client, alice, django_capture_on_commit_callbacks):
    """The customer (alice, signed in) approves at PayPal and comes back; the response."""
    client.force_login(alice)

    def come_back(approve_url, *, payer="buyer", cancel=False):
        back = visit_paypal(approve_url, payer=payer, cancel=cancel)
        with django_capture_on_commit_callbacks(execute=True):
            return client.get(local(back))

    return come_back


def deliver(client, peer):
    return [post_webhook(client, webhook) for webhook in peer.take_webhooks()]


def captures_of(peer, payment) -> list:
    order = peer.orders[payment.gateway_payment_id]
    return order["purchase_units"][0].get("payments", {}).get("captures", [])


# --- Paying ------------------------------------------------------------------------------


def test_an_order_paid_with_paypal_is_fulfilled(peer, alice, card, plan, client, now,
                                                django_capture_on_commit_callbacks, received):
    from simdesk.orders.services import order_create, order_pay

    # given alice's order for a plan, paid with PayPal
    order = order_create(customer=alice, card=card, plan=plan, currency="USD",
                         idempotency_key="buy-1", now=now)
    detail = "http://testserver" + reverse("portal:order_detail", args=[order.public_id])
    approve = order_pay(order=order, gateway="paypal", return_url=detail, now=now)
    assert approve.startswith(peer.base_url + "/checkoutnow?token=")
    # PayPal holds an order for 12.00 USD naming simdesk's reference
    order.refresh_from_db()
    unit = peer.orders[order.payment.gateway_payment_id]["purchase_units"][0]
    assert unit["amount"] == {"currency_code": "USD", "value": "12.00"}
    assert unit["custom_id"] == order.reference
    # when she approves at PayPal and her browser comes back
    client.force_login(alice)
    back = visit_paypal(approve)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(local(back))
    # then simdesk captured the money and she is on her order's page, which is fulfilled
    assert response.status_code == 302 and response["Location"] == detail
    order.refresh_from_db()
    assert order.payment.status == PaymentStatus.SUCCEEDED
    assert order.status == OrderStatus.FULFILLED
    assert len(captures_of(peer, order.payment)) == 1
    # and PayPal's webhooks about it change nothing more
    for response in deliver(client, peer):
        assert response.status_code == 200
    assert received.count(("payment_succeeded", order.payment.pk)) == 1


def test_a_declined_payer_fails_the_payment_with_a_reason(peer, begin, returns, client):
    payment, approve = begin()
    response = returns(approve, payer="declining")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_code == "paypal_declined"
    assert "PayPal declined" in payment.failure_reason
    assert response.status_code == 302 and response["Location"] == payment.return_url
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("PayPal declined" in m for m in messages)
    # PayPal's DENIED webhook agrees
    assert [r.status_code for r in deliver(client, peer)] == [200, 200]
    assert set(InboundWebhookEvent.objects.values_list("type", flat=True)) == {
        "CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.DENIED"}


def test_an_instrument_declined_at_capture_fails_the_payment(peer, begin, returns):
    payment, approve = begin()
    returns(approve, payer="instrument_declined")
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED, "paypal_declined")


def test_coming_back_twice_captures_once(peer, begin, returns, client, received):
    payment, approve = begin()
    back = visit_paypal(approve)
    # when the return page is loaded, then reloaded
    first, second = client.get(local(back)), client.get(local(back))
    # then one capture was asked of PayPal and the payment succeeded once
    assert first.status_code == second.status_code == 302
    capture_calls = [c for c in peer.calls
                     if c == ("POST", f"/v2/checkout/orders/{payment.gateway_payment_id}/capture")]
    assert len(capture_calls) == 1
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert len(captures_of(peer, payment)) == 1


def test_two_captures_at_once_are_one_capture_at_paypal(peer, begin):
    # a double click: both requests find the payment pending and capture
    payment, approve = begin()
    visit_paypal(approve)
    gateway = get_gateway("paypal")
    first = gateway.capture(payment=payment)
    second = gateway.capture(payment=payment)
    assert first.outcome == second.outcome == Outcome.SUCCEEDED
    assert first.capture_id == second.capture_id
    assert len(captures_of(peer, payment)) == 1


def test_an_order_captured_long_ago_is_read_not_captured_again(peer, begin):
    payment, approve = begin()
    visit_paypal(approve)
    gateway = get_gateway("paypal")
    first = gateway.capture(payment=payment)
    peer.replies.clear()  # PayPal forgot the PayPal-Request-Id (it keeps them for hours)
    again = gateway.capture(payment=payment)
    assert (again.outcome, again.capture_id) == (Outcome.SUCCEEDED, first.capture_id)


def test_the_approval_webhook_arriving_first_captures_and_the_return_agrees(
        peer, begin, client, alice, received, django_capture_on_commit_callbacks):
    payment, approve = begin()
    back = visit_paypal(approve)
    # when PayPal's CHECKOUT.ORDER.APPROVED arrives before the customer's browser
    with django_capture_on_commit_callbacks(execute=True):
        [response] = deliver(client, peer)
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    # and then the browser comes back, and the capture's own webhook arrives
    client.force_login(alice)
    assert client.get(local(back)).status_code == 302
    assert [r.status_code for r in deliver(client, peer)] == [200]
    # then there was one capture and one announcement
    assert len(captures_of(peer, payment)) == 1
    assert received == [("payment_succeeded", payment.pk)]


def test_an_approval_for_an_order_simdesk_does_not_know_is_kept_and_changes_nothing(
        peer, begin, client):
    payment, approve = begin()
    Payment.objects.filter(pk=payment.pk).update(gateway_payment_id="")
    visit_paypal(approve)
    [response] = deliver(client, peer)
    assert response.status_code == 200
    event = InboundWebhookEvent.objects.get()
    assert (event.type, event.outcome) == ("CHECKOUT.ORDER.APPROVED", "")
    assert captures_of(peer, payment) == []


def test_it_cancels_back_to_the_order_page_with_a_word(peer, begin, returns, client):
    payment, approve = begin()
    response = returns(approve, cancel=True)
    assert response.status_code == 302 and response["Location"] == payment.return_url
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("without paying" in m for m in messages)
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == (PaymentStatus.CANCELLED, "cancelled")
    # an approval of that PayPal order afterwards (another tab) is never captured
    back = visit_paypal(approve)
    assert [r.status_code for r in deliver(client, peer)] == [200]
    assert client.get(local(back)).status_code == 302
    assert captures_of(peer, payment) == []
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED


def test_cancelling_a_settled_payment_changes_nothing(peer, begin, returns, client):
    payment, approve = begin()
    returns(approve)
    cancel = reverse("paypal:cancel", kwargs={"payment_id": payment.public_id})
    response = client.get(cancel)
    assert response.status_code == 302 and not list(response.wsgi_request._messages)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_only_the_customer_can_come_back_to_her_payment(peer, begin, client, make_user):
    payment, approve = begin()
    back = local(visit_paypal(approve))
    # someone else, signed in
    client.force_login(make_user("bob@example.com"))
    assert client.get(back).status_code == 404
    # nobody signed in: to the sign-in page
    client.logout()
    assert client.get(back).status_code == 302
    # the owner with another order's token
    client.force_login(payment.customer)
    assert client.get(back.replace(payment.gateway_payment_id, "5O190127TN364715T")
                      ).status_code == 404
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING and captures_of(peer, payment) == []


def test_the_same_key_is_the_same_paypal_order(peer, begin):
    payment, approve = begin("order-9")
    again, again_approve = begin("order-9")
    result = get_gateway("paypal").start_payment(payment=payment, return_url=payment.return_url,
                                                 save_method=False)
    assert again_approve == approve
    assert result.gateway_payment_id == payment.gateway_payment_id
    assert len([o for o in peer.orders.values()
                if o["purchase_units"][0].get("invoice_id") == str(payment.public_id)]) == 1


@pytest.mark.parametrize(("amount_minor", "currency", "value"),
                         [(1200, "JPY", "1200"), (1999, "USD", "19.99"), (5, "USD", "0.05")])
def test_amounts_reach_paypal_exactly(peer, begin, returns, client, amount_minor, currency,
                                      value):
    payment, approve = begin(f"order-{currency}-{amount_minor}", amount_minor=amount_minor,
                             currency=currency)
    assert peer.orders[payment.gateway_payment_id]["purchase_units"][0]["amount"] == {
        "currency_code": currency, "value": value}
    returns(approve)
    assert [r.status_code for r in deliver(client, peer)] == [200, 200]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert captures_of(peer, payment)[0]["amount"]["value"] == value


def test_wrong_client_secret_is_a_gateway_error_and_changes_nothing(peer, settings, begin):
    settings.PAYPAL_CLIENT_SECRET = "not-the-secret"
    orders_before = len(peer.orders)
    with pytest.raises(GatewayError):
        begin()
    payment = Payment.objects.get()
    assert (payment.status, payment.gateway_payment_id, payment.redirect_url) == (
        PaymentStatus.PENDING, "", "")
    assert len(peer.orders) == orders_before


def test_paypal_not_answering_is_a_gateway_error(peer, settings, begin):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    settings.PAYPAL_API_BASE = f"http://127.0.0.1:{port}"
    with pytest.raises(GatewayError):
        begin()
    assert Payment.objects.get().gateway_payment_id == ""


# --- Webhooks ----------------------------------------------------------------------------


def _completed_webhook(peer, begin, returns):
    payment, approve = begin()
    returns(approve)
    webhooks = peer.take_webhooks()
    [completed] = [w for w in webhooks
                   if json.loads(w[0])["event_type"] == "PAYMENT.CAPTURE.COMPLETED"]
    return payment, completed


def test_a_genuine_capture_webhook_is_accepted_with_its_amount(peer, begin, returns, client):
    payment, completed = _completed_webhook(peer, begin, returns)
    assert post_webhook(client, completed).status_code == 200
    event = InboundWebhookEvent.objects.get()
    assert (event.gateway_payment_id, event.outcome, event.amount_minor, event.currency) == (
        payment.gateway_payment_id, "succeeded", 999, "USD")


def test_a_webhook_with_a_changed_amount_is_rejected(peer, begin, returns, client):
    _payment, (body, headers) = _completed_webhook(peer, begin, returns)
    event = json.loads(body)
    event["resource"]["amount"]["value"] = "0.99"
    tampered = json.dumps(event, separators=(",", ":")).encode()
    response = post_webhook(client, (tampered, headers))
    assert response.status_code == 400 and response.json()["code"] == "bad_signature"
    assert InboundWebhookEvent.objects.count() == 0


def test_a_webhook_signed_with_another_key_is_rejected(peer, begin, returns, client):
    _payment, (body, headers) = _completed_webhook(peer, begin, returns)
    forger = PaypalPeer()
    forger.base_url = peer.base_url  # even claiming PayPal's certificate address
    forged_body, forged_headers = forger.sign(json.loads(body))
    assert forged_body == body
    response = post_webhook(client, (forged_body, forged_headers))
    assert response.status_code == 400 and response.json()["code"] == "bad_signature"
    assert InboundWebhookEvent.objects.count() == 0


def test_a_webhook_signed_for_another_webhook_id_is_rejected(peer, begin, returns, client):
    _payment, (body, _headers) = _completed_webhook(peer, begin, returns)
    response = post_webhook(client, peer.sign(json.loads(body), webhook_id="9XL90610J3647323C"))
    assert response.status_code == 400
    assert InboundWebhookEvent.objects.count() == 0


def test_a_webhook_without_signature_headers_is_rejected_without_asking_paypal(
        peer, begin, returns, client):
    _payment, (body, headers) = _completed_webhook(peer, begin, returns)
    calls = len(peer.calls)
    del headers["PAYPAL-TRANSMISSION-SIG"]
    response = post_webhook(client, (body, headers))
    assert response.status_code == 400 and response.json()["code"] == "bad_signature"
    assert len(peer.calls) == calls


def test_a_webhook_that_cannot_be_verified_now_is_refused_so_paypal_retries(
        peer, settings, begin, returns, client):
    _payment, completed = _completed_webhook(peer, begin, returns)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    settings.PAYPAL_API_BASE = f"http://127.0.0.1:{port}"
    response = post_webhook(client, completed)
    assert response.status_code == 400
    assert response.json()["code"] == "verification_unavailable"
    assert InboundWebhookEvent.objects.count() == 0
    # PayPal's next delivery, once it can be verified, is accepted
    settings.PAYPAL_API_BASE = peer.base_url
    assert post_webhook(client, completed).status_code == 200


# --- Refunds and reconciliation ----------------------------------------------------------


@pytest.fixture
def paid(peer, begin, returns):
    payment, approve = begin()
    returns(approve)
    peer.take_webhooks()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    return payment


def test_it_refunds_in_full(peer, paid, now, client):
    refund = payment_refund(payment=paid, amount_minor=999, idempotency_key="refund-1", now=now)
    paid.refresh_from_db()
    assert (paid.status, paid.refunded_minor) == (PaymentStatus.REFUNDED, 999)
    capture = captures_of(peer, paid)[0]
    assert capture["status"] == "REFUNDED"
    refunds = peer.orders[paid.gateway_payment_id]["purchase_units"][0]["payments"]["refunds"]
    assert [(r["id"], r["amount"]["value"]) for r in refunds] == [
        (refund.gateway_refund_id, "9.99")]
    # PayPal's PAYMENT.CAPTURE.REFUNDED is stored and moves nothing
    [response] = deliver(client, peer)
    assert response.status_code == 200
    assert InboundWebhookEvent.objects.get().outcome == ""


def test_it_refunds_in_parts_once_per_key_never_beyond_what_is_left(peer, paid, now):
    gateway = get_gateway("paypal")
    first = gateway.refund(payment=paid, amount_minor=300, idempotency_key="refund-1")
    again = gateway.refund(payment=paid, amount_minor=300, idempotency_key="refund-1")
    assert (first.refund_id, first.amount_minor) == (again.refund_id, 300)
    refunds = peer.orders[paid.gateway_payment_id]["purchase_units"][0]["payments"]["refunds"]
    assert len(refunds) == 1 and captures_of(peer, paid)[0]["status"] == "PARTIALLY_REFUNDED"
    with pytest.raises(GatewayError):
        gateway.refund(payment=paid, amount_minor=700, idempotency_key="refund-2")
    assert gateway.refund(payment=paid, amount_minor=699,
                          idempotency_key="refund-3").amount_minor == 699
    assert get_gateway("paypal").query_status(payment=paid).refunded_minor == 999
    assert Refund.objects.count() == 0  # the gateway alone: simdesk's books untouched


def test_a_jpy_refund_is_whole_yen(peer, begin, returns, now):
    payment, approve = begin("order-jpy", amount_minor=1200, currency="JPY")
    returns(approve)
    payment.refresh_from_db()
    payment_refund(payment=payment, amount_minor=200, idempotency_key="refund-jpy", now=now)
    refunds = peer.orders[payment.gateway_payment_id]["purchase_units"][0]["payments"]["refunds"]
    assert refunds[0]["amount"] == {"currency_code": "JPY", "value": "200"}


def test_reconciliation_reads_the_order(peer, begin, now, received):
    payment, approve = begin()
    gateway = get_gateway("paypal")
    assert gateway.query_status(payment=payment).outcome == Outcome.PENDING
    visit_paypal(approve)
    # approved but never captured: still pending (capturing is the return page's and the
    # approval webhook's job, not reconciliation's)
    assert gateway.query_status(payment=payment).outcome == Outcome.PENDING
    gateway.capture(payment=payment)
    assert payment_reconcile(payment=payment, now=now) is True
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_an_order_paypal_no_longer_knows_was_never_paid(peer, begin, now):
    payment, _approve = begin()
    del peer.orders[payment.gateway_payment_id]  # expired unapproved at PayPal
    assert payment_reconcile(payment=payment, now=now) is True
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == (PaymentStatus.CANCELLED, "cancelled")


# --- Saved PayPal (vault) for renewals ---------------------------------------------------


def test_a_wallet_saved_while_paying_renews_off_session(peer, begin, returns, alice, now,
                                                        client):
    # given alice paid and asked to keep PayPal for renewals
    payment, approve = begin(save_method=True)
    wallet = peer.orders[payment.gateway_payment_id]["payment_source"]
    assert peer.order_vault[payment.gateway_payment_id] is True and "paypal" in wallet
    returns(approve)
    method = SavedPaymentMethod.objects.get(customer=alice, gateway="paypal")
    assert method.token in peer.vault and method.label == "PayPal buyer@example.com"
    # when her renewal is charged without her
    renewal = payment_charge_saved_method(customer=alice, method=method, amount_minor=1500,
                                          currency="USD", reference="renewal:1",
                                          idempotency_key="renewal-1", now=now)
    # then PayPal charged the vaulted wallet, once per key
    assert renewal.status == PaymentStatus.SUCCEEDED
    order = peer.orders[renewal.gateway_payment_id]
    assert order["payment_source"]["paypal"]["attributes"]["vault"]["id"] == method.token
    assert captures_of(peer, renewal)[0]["amount"]["value"] == "15.00"
    again = get_gateway("paypal").charge_saved_method(payment=renewal, method_token=method.token)
    assert again.gateway_payment_id == renewal.gateway_payment_id
    assert [r.status_code for r in deliver(client, peer)] == [200, 200, 200]


def test_a_declined_vaulted_wallet_is_a_decline(peer, alice, now):
    token = peer.vault_create(customer="C1", behaviour="declining")
    method = SavedPaymentMethod.objects.create(customer=alice, gateway="paypal", token=token,
                                               label="PayPal")
    payment = payment_charge_saved_method(customer=alice, method=method, amount_minor=1500,
                                          currency="USD", reference="renewal:1",
                                          idempotency_key="renewal-1", now=now)
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED, "paypal_declined")
    assert payment.gateway_payment_id in peer.orders


def test_a_vaulted_wallet_needing_the_payer_parks_the_renewal_until_they_act(
        peer, alice, now, returns):
    token = peer.vault_create(customer="C1", behaviour="payer_action")
    method = SavedPaymentMethod.objects.create(customer=alice, gateway="paypal", token=token,
                                               label="PayPal")
    payment = payment_charge_saved_method(customer=alice, method=method, amount_minor=1500,
                                          currency="USD", reference="renewal:1",
                                          idempotency_key="renewal-1", now=now)
    assert payment.status == PaymentStatus.REQUIRES_ACTION
    assert payment.redirect_url == f"{peer.base_url}/checkoutnow?token={payment.gateway_payment_id}"
    assert captures_of(peer, payment) == []
    # when alice follows the link (from the renewal e-mail) and does what PayPal asks
    response = returns(payment.redirect_url)
    # then she is back at simdesk, which captured the renewal
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert captures_of(peer, payment)[0]["amount"]["value"] == "15.00"


def test_an_unknown_vault_id_is_not_a_decline(peer, alice, now):
    payment = Payment.objects.create(customer=alice, gateway="paypal", amount_minor=1500,
                                     currency="USD", reference="renewal:1",
                                     idempotency_key="renewal-1", off_session=True,
                                     status_changed_at=now)
    with pytest.raises(GatewayError) as error:
        get_gateway("paypal").charge_saved_method(payment=payment, method_token="nosuch")
    assert not isinstance(error.value, PaymentDeclined)


def test_the_return_page_when_paypal_does_not_answer_keeps_the_payment_open(
        peer, settings, begin, client, alice):
    payment, approve = begin()
    back = local(visit_paypal(approve))
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    settings.PAYPAL_API_BASE = f"http://127.0.0.1:{port}"
    client.force_login(alice)
    response = client.get(back)
    assert response.status_code == 302 and response["Location"] == payment.return_url
    assert any("did not answer" in str(m) for m in response.wsgi_request._messages)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    # and coming back again once PayPal answers completes it
    settings.PAYPAL_API_BASE = peer.base_url
    client.get(back)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


# --- Settings ----------------------------------------------------------------------------


def test_it_is_offered_only_with_its_keys_and_is_live_only_in_the_live_environment(
        peer, settings):
    from simdesk.payments.gateways.paypal.gateway import PaypalGateway

    assert PaypalGateway.is_configured() and PaypalGateway().mode() == "test"
    settings.PAYPAL_ENVIRONMENT = "live"
    assert PaypalGateway().mode() == "live"
    for name in ("PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET", "PAYPAL_WEBHOOK_ID"):
        saved = getattr(settings, name)
        setattr(settings, name, "")
        assert not PaypalGateway.is_configured(), name
        setattr(settings, name, saved)


def test_without_a_base_address_the_sdk_talks_to_paypal_itself(settings):
    from simdesk.payments.gateways.paypal.client import paypal_client

    settings.PAYPAL_API_BASE = ""
    settings.PAYPAL_ENVIRONMENT = "sandbox"
    assert paypal_client().config.get_base_uri() == "https://api-m.sandbox.paypal.com"
    settings.PAYPAL_ENVIRONMENT = "live"
    assert paypal_client().config.get_base_uri() == "https://api-m.paypal.com"
    settings.PAYPAL_API_BASE = "http://127.0.0.1:9/"
    assert paypal_client().config.get_base_uri() == "http://127.0.0.1:9"
