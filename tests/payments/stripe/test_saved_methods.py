"""Renewals with a card Stripe keeps: off-session PaymentIntents, against the local Stripe peer."""

import pytest

from simdesk.payments.gateways import get_gateway
from simdesk.payments.gateways.base import GatewayError, Outcome, PaymentDeclined
from simdesk.payments.models import Payment, PaymentStatus, SavedPaymentMethod
from simdesk.payments.services import payment_charge_saved_method

from . import local

pytestmark = pytest.mark.django_db


@pytest.fixture
def keep(alice):
    def save(token: str) -> SavedPaymentMethod:
        return SavedPaymentMethod.objects.create(customer=alice, gateway="stripe", token=token,
                                                 label="Visa •••• 4242")

    return save


@pytest.fixture
def renew(alice, now, django_capture_on_commit_callbacks):
    def charge(method, key="renewal-1", amount_minor=1500, currency="USD"):
        with django_capture_on_commit_callbacks(execute=True):
            return payment_charge_saved_method(customer=alice, method=method,
                                               amount_minor=amount_minor, currency=currency,
                                               reference=f"renewal:{key}", idempotency_key=key,
                                               now=now)

    return charge


def test_a_renewal_charges_the_kept_card_off_session(stripe, keep, renew, received):
    method = keep(stripe.saved_method())
    payment = renew(method)
    assert payment.status == PaymentStatus.SUCCEEDED
    [intent] = stripe.intents()
    assert intent["id"] == payment.gateway_payment_id
    assert (intent["amount"], intent["currency"], intent["status"]) == (1500, "usd", "succeeded")
    customer, pm = method.token.split("/")
    assert (intent["customer"], intent["payment_method"]) == (customer, pm)
    [create] = [r for r in stripe.requests() if r["path"] == "/v1/payment_intents"]
    assert create["idempotency_key"] == "simdesk:renewal-1"
    assert received == [("payment_succeeded", payment.pk)]


def test_one_key_is_one_payment_intent_at_stripe(stripe, keep, renew):
    method = keep(stripe.saved_method())
    payment = renew(method)
    # the same renewal again through simdesk: the same payment, Stripe not asked to charge
    assert renew(method).pk == payment.pk
    # the gateway itself, as after a crash before simdesk stored Stripe's answer:
    # Stripe replays the first answer for the same Idempotency-Key
    lost = Payment.objects.get(pk=payment.pk)
    lost.gateway_payment_id = ""  # in memory only
    result = get_gateway("stripe").charge_saved_method(payment=lost, method_token=method.token)
    assert result.gateway_payment_id == payment.gateway_payment_id
    assert len(stripe.intents()) == 1
    creates = [r for r in stripe.requests() if r["path"] == "/v1/payment_intents"]
    assert [r["replayed"] for r in creates] == [False, True]


def test_a_declined_renewal_fails_with_a_reason(stripe, keep, renew, received):
    method = keep(stripe.saved_method(local.CARD_DECLINED))
    payment = renew(method)
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED, "card_declined")
    assert payment.failure_reason
    # the declined intent is known, so Stripe's webhook about it finds the payment
    [intent] = stripe.intents()
    assert payment.gateway_payment_id == intent["id"]
    assert received == [("payment_failed", payment.pk)]


def test_a_decline_at_the_gateway_is_payment_declined(stripe, keep, alice, now):
    method = keep(stripe.saved_method(local.CARD_DECLINED))
    payment = Payment.objects.create(customer=alice, gateway="stripe", amount_minor=1500,
                                     currency="USD", reference="renewal:2",
                                     idempotency_key="renewal-2", off_session=True,
                                     saved_method=method, status_changed_at=now)
    with pytest.raises(PaymentDeclined) as declined:
        get_gateway("stripe").charge_saved_method(payment=payment, method_token=method.token)
    assert declined.value.failure_code == "card_declined"
    assert declined.value.gateway_payment_id.startswith("pi_")


def test_a_token_that_is_not_a_stripe_one_is_a_gateway_error(stripe, alice, now):
    payment = Payment.objects.create(customer=alice, gateway="stripe", amount_minor=1500,
                                     currency="USD", reference="renewal:3",
                                     idempotency_key="renewal-3", off_session=True,
                                     status_changed_at=now)
    with pytest.raises(GatewayError):
        get_gateway("stripe").charge_saved_method(payment=payment, method_token="sbxpm_123")
    assert stripe.intents() == []


def test_when_the_bank_asks_the_customer_completes_it_on_simdesks_page(
        stripe, keep, renew, alice_client, visit, received):
    # given a kept card whose bank wants 3-D Secure even off-session
    method = keep(stripe.saved_method(local.CARD_3DS_ALWAYS))
    payment = renew(method)
    # then the renewal waits for the customer, with a link for the e-mail
    assert payment.status == PaymentStatus.REQUIRES_ACTION
    assert payment.redirect_url == f"/payments/stripe/pay/{payment.public_id}/authenticate"
    # the page gives Stripe.js the intent's client secret and the kept card
    page = visit(payment.redirect_url).content.decode()
    intent = stripe.api("GET", f"/v1/payment_intents/{payment.gateway_payment_id}")
    assert intent["client_secret"] in page and method.token.split("/")[1] in page
    assert "Confirm with your bank" in page and local.SECRET_KEY not in page
    # when the customer confirms at the bank and comes back
    stripe.authenticate(payment.gateway_payment_id)
    response = visit(f"/payments/stripe/pay/{payment.public_id}/return")
    assert response.status_code == 200 and "This payment is complete" in response.content.decode()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_requires_action", payment.pk),
                        ("payment_succeeded", payment.pk)]


def test_the_authentication_page_is_only_for_the_payments_customer(stripe, keep, renew, client,
                                                                   make_user):
    payment = renew(keep(stripe.saved_method(local.CARD_3DS_ALWAYS)))
    client.force_login(make_user("mallory@example.com"))
    assert client.get(payment.redirect_url).status_code == 404


def test_zero_decimal_currencies_are_charged_as_they_are(stripe, keep, renew):
    payment = renew(keep(stripe.saved_method()), amount_minor=1200, currency="JPY")
    [intent] = stripe.intents()
    assert (intent["amount"], intent["currency"]) == (1200, "jpy")
    assert payment.status == PaymentStatus.SUCCEEDED


def test_outcome_of_a_charge_asked_again_is_read_not_made_again(stripe, keep, renew):
    method = keep(stripe.saved_method())
    payment = renew(method)
    result = get_gateway("stripe").charge_saved_method(payment=payment, method_token=method.token)
    assert (result.outcome, result.gateway_payment_id) == (Outcome.SUCCEEDED,
                                                           payment.gateway_payment_id)
    assert len([r for r in stripe.requests() if r["path"] == "/v1/payment_intents"]) == 1
