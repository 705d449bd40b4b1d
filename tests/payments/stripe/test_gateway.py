"""The Stripe gateway's settings, its amounts, and Stripe's errors in simdesk's words."""

import pytest

from simdesk.payments.gateways import enabled_gateway_names, get_gateway
from simdesk.payments.gateways.base import GatewayError
from simdesk.payments.gateways.stripe.gateway import StripeGateway
from simdesk.payments.gateways.stripe.mapping import stripe_amount
from simdesk.payments.models import Payment, PaymentStatus

pytestmark = pytest.mark.django_db


def test_it_is_offered_only_with_all_three_keys(stripe, settings):
    assert "stripe" in enabled_gateway_names()
    for name in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET"):
        value = getattr(settings, name)
        setattr(settings, name, "")
        assert not StripeGateway.is_configured() and "stripe" not in enabled_gateway_names()
        setattr(settings, name, value)


@pytest.mark.parametrize(("key", "mode"), [("sk_live_abc", "live"), ("rk_live_abc", "live"),
                                           ("sk_test_abc", "test")])
def test_live_keys_move_real_money(settings, key, mode):
    settings.STRIPE_SECRET_KEY = key
    assert StripeGateway().mode() == mode


def test_amounts_are_minor_units_for_stripe_too():
    assert stripe_amount(999, "USD") == 999
    assert stripe_amount(1200, "JPY") == 1200  # zero-decimal at Stripe and in babel
    assert stripe_amount(5000, "KWD") == 5000  # three decimals at both


def test_a_key_stripe_refuses_is_a_gateway_error_and_the_payment_waits(begin, settings, stripe):
    settings.STRIPE_SECRET_KEY = "not_a_key"  # the peer answers 401, as Stripe would
    with pytest.raises(GatewayError) as failed:
        begin()
    assert "AuthenticationError" in failed.value.detail
    payment = Payment.objects.get()
    assert (payment.status, payment.gateway_payment_id) == (PaymentStatus.PENDING, "")
    # a later try with the right key starts it
    settings.STRIPE_SECRET_KEY = "sk_test_simdesk_local"
    payment, url = begin()
    assert payment.gateway_payment_id.startswith("pi_")


def test_starting_twice_is_one_payment_intent(begin, stripe):
    payment, url = begin()
    # the gateway asked again, as if simdesk had lost Stripe's first answer
    lost = Payment.objects.get(pk=payment.pk)
    lost.gateway_payment_id = ""
    again = get_gateway("stripe").start_payment(payment=lost, return_url=payment.return_url,
                                                save_method=False)
    assert again.gateway_payment_id == payment.gateway_payment_id
    assert len(stripe.intents()) == 1


@pytest.mark.parametrize(("intent", "outcome", "code"), [
    ({"status": "succeeded"}, "succeeded", ""),
    ({"status": "processing"}, "pending", ""),
    ({"status": "requires_payment_method"}, "pending", ""),  # nothing tried yet
    ({"status": "requires_confirmation"}, "pending", ""),
    ({"status": "requires_action"}, "requires_action", ""),
    ({"status": "canceled"}, "cancelled", "cancelled"),
    ({"status": "requires_payment_method",
      "last_payment_error": {"code": "card_declined", "decline_code": "expired_card"}},
     "failed", "card_declined"),
    # Stripe's answer to an off-session charge the bank wants confirmed: still payable
    ({"status": "requires_payment_method",
      "last_payment_error": {"code": "authentication_required",
                             "decline_code": "authentication_required"}},
     "requires_action", "authentication_required"),
])
def test_what_an_intents_status_means(intent, outcome, code):
    from simdesk.payments.gateways.stripe.mapping import status_of

    status = status_of({"id": "pi_1", **intent})
    assert (status.outcome, status.failure_code) == (outcome, code)


def test_a_kept_card_is_named_by_brand_and_last_digits():
    from simdesk.payments.gateways.stripe.mapping import method_label, saved_method_of

    method = {"id": "pm_1", "card": {"brand": "mastercard", "last4": "4444"}}
    assert method_label(method) == "Mastercard •••• 4444"
    intent = {"status": "succeeded", "customer": "cus_1", "payment_method": method,
              "setup_future_usage": "off_session"}
    assert saved_method_of(intent) == ("cus_1/pm_1", "Mastercard •••• 4444")
    assert saved_method_of({**intent, "setup_future_usage": None}) == ("", "")
