"""Gateway webhooks attacked: forged, replayed and reordered, through each gateway's own
signing. Covered elsewhere and not repeated here:

- sandbox (tests/payments/test_webhooks.py): wrong signature, body changed after signing,
  missing or broken headers, signed outside the replay window or in the future, the same
  event twice (processed once), a decline after a success (success stays), an amount
  changed, garbage and oversized bodies;
- Stripe (tests/payments/stripe/test_webhooks.py): unsigned, badly signed, another secret,
  signed more than five minutes away, an amount changed;
- PayPal and Alipay: tampered and unsigned notifications in tests/payments/paypal and
  tests/payments/alipay (test_notify.py).

Here, Stripe's events are signed with stripe-python's own ``WebhookSignature`` and a test
secret, and posted to simdesk's endpoint: a replayed event id counts once (even signed
again later), a failure after a success does not undo it, a refund before the success
moves nothing, a forged signature on a genuine body changes nothing; and for every
gateway a POST without any signature stores nothing.
"""

import json
import time

import pytest
import stripe as stripe_sdk

from simdesk.payments.models import InboundWebhookEvent, Payment, PaymentStatus

pytestmark = pytest.mark.django_db

SECRET = "whsec_security_test"


@pytest.fixture
def stripe_on(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_security"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_security"
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # never called: webhooks only
    settings.PAYMENT_GATEWAYS = ["sandbox", "stripe"]


@pytest.fixture
def payment(stripe_on, alice, now):
    return Payment.objects.create(customer=alice, gateway="stripe", amount_minor=999,
                                  currency="USD", reference="order:security-1",
                                  idempotency_key="security-1", gateway_payment_id="pi_sec_1")


def intent(status="succeeded", **extra):
    return {"object": "payment_intent", "id": "pi_sec_1", "amount": 999, "currency": "usd",
            "status": status, "customer": None, "payment_method": "pm_1",
            "setup_future_usage": None, "last_payment_error": None, **extra}


def event(event_id, type_, obj):
    return json.dumps({"id": event_id, "object": "event", "type": type_,
                       "created": int(time.time()), "data": {"object": obj}}).encode()


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    """POST ``body`` signed by stripe-python as Stripe signs; what runs after commit runs."""

    def post(_client, body, *, secret=SECRET, timestamp=None):
        header = stripe_sdk.WebhookSignature.generate_signature_header(
            body.decode(), secret, timestamp=timestamp or int(time.time()))
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/webhooks/stripe/", data=body, content_type="application/json",
                               headers={"Stripe-Signature": header})

    return post


def test_the_same_event_delivered_again_counts_once(client, payment, received, deliver):
    body = event("evt_sec_1", "payment_intent.succeeded", intent())

    first = deliver(client, body)
    again = deliver(client, body, timestamp=int(time.time()) + 60)  # signed anew, later

    assert first.status_code == again.status_code == 200
    assert again.json()["duplicate"] is True
    assert InboundWebhookEvent.objects.filter(event_id="evt_sec_1").count() == 1
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_succeeded", payment.pk)]


def test_a_failure_after_a_success_does_not_undo_it(client, payment, received, deliver):
    deliver(client, event("evt_sec_ok", "payment_intent.succeeded", intent()))
    failed = intent("requires_payment_method",
                    last_payment_error={"code": "card_declined", "decline_code": "generic"})

    response = deliver(client, event("evt_sec_late", "payment_intent.payment_failed", failed))

    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_succeeded", payment.pk)]


def test_a_refund_before_the_success_moves_nothing_then_the_success_counts(client, payment,
                                                                           received, deliver):
    charge = {"object": "charge", "id": "ch_sec_1", "payment_intent": "pi_sec_1",
              "amount": 999, "amount_refunded": 999, "currency": "usd", "refunded": True}

    assert deliver(client, event("evt_sec_ref", "charge.refunded", charge)).status_code == 200
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_minor) == (PaymentStatus.PENDING, 0)

    deliver(client, event("evt_sec_ok2", "payment_intent.succeeded", intent()))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_succeeded", payment.pk)]


@pytest.mark.parametrize("forgery", ["other-secret", "old", "body-swapped"])
def test_a_forged_or_replayed_success_changes_nothing(client, payment, received, forgery, deliver):
    body = event("evt_sec_forged", "payment_intent.succeeded", intent())
    if forgery == "other-secret":
        response = deliver(client, body, secret="whsec_attacker")
    elif forgery == "old":  # a genuine event captured and replayed an hour later
        response = deliver(client, body, timestamp=int(time.time()) - 3600)
    else:  # a genuine signature of a harmless event, on a success
        harmless = event("evt_sec_other", "customer.created", {"object": "customer",
                                                               "id": "cus_1"})
        header = stripe_sdk.WebhookSignature.generate_signature_header(
            harmless.decode(), SECRET, timestamp=int(time.time()))
        response = client.post("/webhooks/stripe/", data=body, content_type="application/json",
                               headers={"Stripe-Signature": header})

    assert response.status_code == 400
    assert not InboundWebhookEvent.objects.exists()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING and received == []


@pytest.mark.parametrize("gateway", ["sandbox", "stripe", "paypal", "alipay"])
def test_an_unsigned_success_stores_nothing_for_any_gateway(client, stripe_on, gateway):
    body = json.dumps({"id": "evt_x", "type": "charge.succeeded",
                       "event_type": "PAYMENT.CAPTURE.COMPLETED",
                       "trade_status": "TRADE_SUCCESS"}).encode()

    response = client.post(f"/webhooks/{gateway}/", data=body, content_type="application/json")

    assert 400 <= response.status_code < 500
    assert not InboundWebhookEvent.objects.exists()
