"""Stripe's webhooks: signed by the local Stripe peer, verified with the signing secret."""

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest

from simdesk.payments.gateways import get_gateway
from simdesk.payments.gateways.base import (
    Outcome,
    WebhookMalformedError,
    WebhookSignatureError,
)
from simdesk.payments.models import InboundWebhookEvent, PaymentStatus, SavedPaymentMethod

from . import local


def sign(body: bytes, *, timestamp: int | None = None, secret: str = local.WEBHOOK_SECRET) -> str:
    """``Stripe-Signature`` as Stripe computes it: HMAC-SHA256 of ``"<t>.<body>"``."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def post(client, body: bytes, signature: str | None):
    headers = {"Stripe-Signature": signature} if signature is not None else {}
    return client.post("/webhooks/stripe/", data=body, content_type="application/json",
                       headers=headers)


# --- Delivered by the peer to a running simdesk -----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_webhook_signed_and_sent_by_stripe_pays_the_payment(begin, stripe, live_server,
                                                              received):
    # given the peer sends its webhooks to a running simdesk
    stripe.register_webhook(f"{live_server.url}/webhooks/stripe/")
    # and a payment confirmed at Stripe that simdesk has not heard about yet
    payment, _url = begin()
    intent = get_gateway("stripe").confirm(payment=payment,
                                           payment_method_id=stripe.payment_method(),
                                           return_url="http://testserver/back")
    assert intent["status"] == "succeeded"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    # when Stripe's webhook arrives (the peer sends it about a second later)
    # (the signal goes out just after the server's commit: wait for both)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        payment.refresh_from_db()
        if payment.status != PaymentStatus.PENDING and received:
            break
        time.sleep(0.1)
    # then it was verified, stored once and applied
    assert payment.status == PaymentStatus.SUCCEEDED
    event = InboundWebhookEvent.objects.get(type="payment_intent.succeeded",
                                            gateway_payment_id=payment.gateway_payment_id)
    assert (event.status, event.gateway_payment_id) == ("processed", payment.gateway_payment_id)
    assert (event.amount_minor, event.currency) == (999, "USD")
    assert received == [("payment_succeeded", payment.pk)]


# --- Refused: nothing stored ------------------------------------------------------------------


@pytest.fixture
def genuine(begin, confirm, stripe):
    """A payment alice paid, and the payment_intent.succeeded webhook the peer signed for it."""
    payment, _url = begin()
    confirm(payment)
    for body, headers in local.inbox().take(stripe.event_ids()):
        if json.loads(body)["type"] == "payment_intent.succeeded":
            InboundWebhookEvent.objects.all().delete()
            return body, headers["Stripe-Signature"]
    raise AssertionError("no payment_intent.succeeded webhook")


@pytest.mark.django_db
def test_a_webhook_with_its_amount_changed_is_refused(genuine, client):
    body, signature = genuine
    event = json.loads(body)
    event["data"]["object"]["amount"] = 1
    response = post(client, json.dumps(event).encode(), signature)
    assert response.status_code == 400 and response.json()["code"] == "bad_signature"
    assert not InboundWebhookEvent.objects.exists()
    # the genuine one is taken
    assert post(client, body, signature).status_code == 200
    assert InboundWebhookEvent.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("signature", [
    None,
    "",
    "t=1,v1=00",
    "v1=abc",
    "garbage",
], ids=["missing", "empty", "wrong", "no-timestamp", "garbage"])
def test_an_unsigned_or_badly_signed_webhook_is_refused(genuine, client, signature):
    body, _signature = genuine
    assert post(client, body, signature).status_code == 400
    assert not InboundWebhookEvent.objects.exists()


@pytest.mark.django_db
def test_a_webhook_signed_with_another_secret_is_refused(genuine, client):
    body, _signature = genuine
    assert post(client, body, sign(body, secret="whsec_someone_else")).status_code == 400
    assert not InboundWebhookEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("age", [301, -301, 3600])
def test_a_webhook_signed_more_than_five_minutes_away_is_refused(genuine, client, age):
    body, _signature = genuine
    response = post(client, body, sign(body, timestamp=int(time.time()) - age))
    assert response.status_code == 400 and response.json()["code"] == "bad_signature"
    assert not InboundWebhookEvent.objects.exists()


@pytest.mark.django_db
def test_a_signed_body_that_is_not_a_stripe_event_is_refused(stripe, client):
    for body in (b"not json", b"{}", b'{"id": "evt_1", "type": "payment_intent.succeeded", '
                                     b'"data": {"object": {"object": "charge"}}}'):
        response = post(client, body, sign(body))
        assert response.status_code == 400 and response.json()["code"] == "malformed", body
    assert post(client, b"\xff\xfe", sign(b"\xff\xfe")).status_code == 400
    assert not InboundWebhookEvent.objects.exists()


# --- What each event means --------------------------------------------------------------------


def _event(type_: str, obj: dict, *, created: int = 1_780_000_000) -> bytes:
    return json.dumps({"id": "evt_test_1", "object": "event", "type": type_,
                       "created": created, "data": {"object": obj}}).encode()


def _parse(body: bytes):
    now = datetime(2026, 5, 28, 20, 26, 40, tzinfo=UTC)
    return get_gateway("stripe").parse_webhook(
        headers={"stripe-signature": sign(body, timestamp=int(now.timestamp()))}, body=body,
        now=now)


INTENT = {"object": "payment_intent", "id": "pi_123", "amount": 999, "currency": "usd",
          "status": "succeeded", "customer": None, "payment_method": "pm_1",
          "setup_future_usage": None, "last_payment_error": None}


@pytest.mark.django_db
def test_a_succeeded_intent_is_a_success_in_upper_case_currency(stripe):
    event = _parse(_event("payment_intent.succeeded", INTENT))
    assert (event.outcome, event.gateway_payment_id, event.amount_minor, event.currency) == (
        Outcome.SUCCEEDED, "pi_123", 999, "USD")
    assert event.saved_method_token == "" and event.occurred_at.year == 2026


@pytest.mark.django_db
def test_a_succeeded_intent_that_kept_the_card_names_it(stripe, alice):
    token = stripe.saved_method()
    customer, method = token.split("/")
    intent = {**INTENT, "customer": customer, "payment_method": method,
              "setup_future_usage": "off_session"}
    # the label is asked of Stripe when simdesk does not know the card yet
    event = _parse(_event("payment_intent.succeeded", intent))
    assert (event.saved_method_token, event.saved_method_label) == (token, "Visa •••• 4242")
    # and read from simdesk when it does
    SavedPaymentMethod.objects.create(customer=alice, gateway="stripe", token=token,
                                      label="my card")
    assert _parse(_event("payment_intent.succeeded", intent)).saved_method_label == "my card"


@pytest.mark.django_db
@pytest.mark.parametrize(("error", "outcome", "code"), [
    ({"code": "card_declined", "decline_code": "generic_decline"}, Outcome.FAILED,
     "card_declined"),
    ({"code": "card_declined", "decline_code": "insufficient_funds"}, Outcome.FAILED,
     "insufficient_funds"),
    ({"code": "payment_intent_authentication_failure"}, Outcome.FAILED,
     "authentication_failed"),
    # off-session, the bank wants the customer: not a failure yet
    ({"code": "authentication_required", "decline_code": "authentication_required"},
     Outcome.REQUIRES_ACTION, "authentication_required"),
])
def test_a_failed_intent_says_why(stripe, error, outcome, code):
    intent = {**INTENT, "status": "requires_payment_method",
              "last_payment_error": {**error, "message": "Declined."}}
    event = _parse(_event("payment_intent.payment_failed", intent))
    assert (event.outcome, event.failure_code) == (outcome, code)
    assert "Declined." in event.failure_message


@pytest.mark.django_db
@pytest.mark.parametrize(("type_", "outcome"), [
    ("payment_intent.requires_action", Outcome.REQUIRES_ACTION),
    ("payment_intent.canceled", Outcome.CANCELLED),
    ("payment_intent.processing", None),
    ("payment_intent.created", None),
])
def test_other_intent_events(stripe, type_, outcome):
    event = _parse(_event(type_, INTENT))
    assert (event.outcome, event.gateway_payment_id) == (outcome, "pi_123")


@pytest.mark.django_db
def test_a_refunded_charge_is_kept_without_moving_the_payment(stripe):
    charge = {"object": "charge", "id": "ch_1", "payment_intent": "pi_123", "amount": 999,
              "amount_refunded": 999, "currency": "jpy", "refunded": True}
    event = _parse(_event("charge.refunded", charge))
    assert (event.outcome, event.gateway_payment_id, event.amount_minor, event.currency) == (
        None, "pi_123", 999, "JPY")


@pytest.mark.django_db
def test_events_about_other_things_are_kept_without_effect(stripe):
    event = _parse(_event("customer.created", {"object": "customer", "id": "cus_1"}))
    assert (event.outcome, event.gateway_payment_id, event.type) == (None, "", "customer.created")


@pytest.mark.django_db
def test_the_signature_is_checked_against_the_time_given(stripe):
    body = _event("payment_intent.succeeded", INTENT)
    now = datetime(2026, 5, 28, 20, 26, 40, tzinfo=UTC)
    header = sign(body, timestamp=int(now.timestamp()) - 299)
    assert get_gateway("stripe").parse_webhook(headers={"Stripe-Signature": header}, body=body,
                                               now=now).event_id == "evt_test_1"
    with pytest.raises(WebhookSignatureError):
        get_gateway("stripe").parse_webhook(
            headers={"Stripe-Signature": sign(body, timestamp=int(now.timestamp()) - 301)},
            body=body, now=now)
    with pytest.raises(WebhookMalformedError):
        get_gateway("stripe").parse_webhook(headers={"Stripe-Signature": sign(b"[]",
                                            timestamp=int(now.timestamp()))}, body=b"[]",
                                            now=now)
