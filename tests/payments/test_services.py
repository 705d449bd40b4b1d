"""Payment services: starting, off-session charges, refunds, reconciliation."""

from datetime import timedelta

import pytest

from simdesk.core.errors import Conflict, NotFound, ServiceError
from simdesk.payments.gateways.base import GatewayError
from simdesk.payments.gateways.sandbox.models import SandboxCharge, SandboxPaymentMethod
from simdesk.payments.models import Payment, PaymentStatus, Refund, SavedPaymentMethod
from simdesk.payments.selectors import payment_get_for_customer
from simdesk.payments.services import (
    payment_charge_saved_method,
    payment_reconcile,
    payment_refund,
)

pytestmark = pytest.mark.django_db


# --- payment_start ------------------------------------------------------------------------


def test_it_starts_one_payment_per_idempotency_key(start):
    first, url = start("order-7")
    again, url_again = start("order-7")
    assert first.pk == again.pk and url == url_again
    assert SandboxCharge.objects.count() == 1
    assert first.status == PaymentStatus.PENDING and first.gateway_payment_id.startswith("sbx_")


def test_it_refuses_the_same_key_with_another_amount(start):
    start("order-8", amount_minor=999)
    with pytest.raises(Conflict):
        start("order-8", amount_minor=1999)


@pytest.mark.parametrize("amount, currency", [(0, "USD"), (-5, "USD"), (10, "XXX"),
                                              (10, "usd"), (True, "USD")])
def test_it_refuses_bad_amounts_and_currencies(start, amount, currency):
    with pytest.raises(ServiceError):
        start(amount_minor=amount, currency=currency)
    assert Payment.objects.count() == 0


def test_it_refuses_a_return_address_on_another_site(start):
    with pytest.raises(ServiceError) as error:
        start(return_url="https://evil.example/steal")
    assert error.value.code == "invalid_return_url"
    # the payment exists but was never started at the gateway; a retry may fix the address
    assert SandboxCharge.objects.count() == 0


def test_it_refuses_an_unknown_gateway(alice, now):
    from simdesk.payments.services import payment_start

    with pytest.raises(NotFound):
        payment_start(customer=alice, gateway="nosuch", amount_minor=1, currency="USD",
                      reference="r", idempotency_key="k", return_url="/", now=now)


def test_it_shows_a_payment_only_to_its_customer(start, make_user):
    payment, _url = start()
    bob = make_user("bob@example.com")
    assert payment_get_for_customer(customer=payment.customer,
                                    payment_id=payment.public_id) == payment
    with pytest.raises(NotFound):
        payment_get_for_customer(customer=bob, payment_id=payment.public_id)
    with pytest.raises(NotFound):
        payment_get_for_customer(customer=payment.customer, payment_id="not-a-uuid")


# --- Off-session charges with a saved method ----------------------------------------------


@pytest.fixture
def saved_method(alice, now):
    """alice saved a sandbox test card earlier (``card`` picks which)."""

    def save(card="4242424242424242", token="sbxpm_alice"):  # noqa: S107
        SandboxPaymentMethod.objects.create(token=token, customer_ref=str(alice.pk),
                                            test_card=card, label=f"Visa •••• {card[-4:]}",
                                            created_at=now)
        return SavedPaymentMethod.objects.create(customer=alice, gateway="sandbox", token=token,
                                                 label=f"Visa •••• {card[-4:]}")

    return save


def _charge(alice, method, now, key="renewal-1", amount=1500):
    return payment_charge_saved_method(customer=alice, method=method, amount_minor=amount,
                                       currency="USD", reference=f"renewal:{key}",
                                       idempotency_key=key, now=now)


def test_it_charges_a_saved_card_off_session(alice, saved_method, now, received,
                                             django_capture_on_commit_callbacks):
    method = saved_method()
    with django_capture_on_commit_callbacks(execute=True):
        payment = _charge(alice, method, now)
    assert payment.status == PaymentStatus.SUCCEEDED and payment.off_session
    assert payment.saved_method == method
    # the sandbox's webhook about the same charge arrived too, and changed nothing
    assert received == [("payment_succeeded", payment.pk)]
    from simdesk.payments.models import InboundWebhookEvent

    assert InboundWebhookEvent.objects.get().status == "processed"


def test_it_charges_once_per_idempotency_key(alice, saved_method, now):
    method = saved_method()
    first = _charge(alice, method, now)
    again = _charge(alice, method, now)
    assert first.pk == again.pk
    assert SandboxCharge.objects.count() == 1


def test_it_records_a_declined_renewal_with_the_reason(alice, saved_method, now, received,
                                                       django_capture_on_commit_callbacks):
    method = saved_method(card="4000000000000341")
    with django_capture_on_commit_callbacks(execute=True):
        payment = _charge(alice, method, now)
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_code == "card_declined"
    assert "declined" in payment.failure_reason
    assert payment.gateway_payment_id.startswith("sbx_")
    assert received == [("payment_failed", payment.pk)]


def test_it_needs_the_customer_when_a_saved_3155_card_is_charged(alice, saved_method, now,
                                                                 received, client,
                                                                 django_capture_on_commit_callbacks):
    method = saved_method(card="4000002500003155")
    with django_capture_on_commit_callbacks(execute=True):
        payment = _charge(alice, method, now)
    assert payment.status == PaymentStatus.REQUIRES_ACTION
    assert payment.redirect_url.endswith("/authenticate")
    assert received == [("payment_requires_action", payment.pk)]
    # the customer can then confirm it on the sandbox
    with django_capture_on_commit_callbacks(execute=True):
        client.post(payment.redirect_url, {"action": "confirm"})
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_it_refuses_someone_elses_or_a_removed_method(alice, make_user, saved_method, now):
    from simdesk.payments.services import saved_method_remove

    method = saved_method()
    bob = make_user("bob@example.com")
    with pytest.raises(ServiceError):
        _charge(bob, method, now)
    saved_method_remove(method=method, now=now)
    with pytest.raises(ServiceError):
        _charge(alice, method, now)
    assert Payment.objects.count() == 0


def test_it_leaves_a_charge_pending_when_the_gateway_fails(alice, now):
    # given a saved method the sandbox does not know (lost on its side)
    method = SavedPaymentMethod.objects.create(customer=alice, gateway="sandbox",
                                               token="sbxpm_gone", label="Visa")
    with pytest.raises(GatewayError):
        _charge(alice, method, now)
    payment = Payment.objects.get()
    assert payment.status == PaymentStatus.PENDING and payment.gateway_payment_id == ""


# --- Refunds ------------------------------------------------------------------------------


@pytest.fixture
def paid(start, client, django_capture_on_commit_callbacks):
    def pay(key="order-r", amount_minor=1000):
        payment, url = start(key, amount_minor=amount_minor)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(url, {"action": "pay", "card_number": "4242424242424242"})
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.SUCCEEDED
        return payment

    return pay


def test_it_refunds_part_then_the_rest(paid, now, received,
                                       django_capture_on_commit_callbacks):
    payment = paid()
    with django_capture_on_commit_callbacks(execute=True):
        payment_refund(payment=payment, amount_minor=300, idempotency_key="rf-1", now=now)
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_minor) == (PaymentStatus.PARTIALLY_REFUNDED, 300)
    with django_capture_on_commit_callbacks(execute=True):
        payment_refund(payment=payment, amount_minor=200, idempotency_key="rf-2", now=now)
        payment_refund(payment=payment, amount_minor=500, idempotency_key="rf-3", now=now)
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_minor) == (PaymentStatus.REFUNDED, 1000)
    assert SandboxCharge.objects.get().refunded_minor == 1000
    assert [name for name, _pk in received].count("payment_refunded") == 3


def test_it_refunds_once_per_key(paid, now):
    payment = paid()
    first = payment_refund(payment=payment, amount_minor=1000, idempotency_key="rf", now=now)
    again = payment_refund(payment=payment, amount_minor=1000, idempotency_key="rf", now=now)
    assert first.pk == again.pk and Refund.objects.count() == 1


def test_it_never_refunds_more_than_was_paid(paid, now):
    payment = paid()
    payment_refund(payment=payment, amount_minor=600, idempotency_key="a", now=now)
    with pytest.raises(Conflict):
        payment_refund(payment=payment, amount_minor=401, idempotency_key="b", now=now)
    with pytest.raises(ServiceError):
        payment_refund(payment=payment, amount_minor=0, idempotency_key="c", now=now)
    payment.refresh_from_db()
    assert payment.refunded_minor == 600


def test_it_refunds_nothing_on_an_unpaid_payment(start, now):
    payment, _url = start()
    with pytest.raises(Conflict):
        payment_refund(payment=payment, amount_minor=1, idempotency_key="x", now=now)


# --- Reconciliation -----------------------------------------------------------------------


def test_it_reconciles_a_payment_whose_webhook_never_arrived(start, client, now, received,
                                                             settings,
                                                             django_capture_on_commit_callbacks):
    # given a payment paid at the sandbox whose webhook could not be delivered
    settings.SANDBOX_WEBHOOK_DELIVER_AT_ONCE = False
    settings.SANDBOX_WEBHOOK_TRANSPORT = "tests.payments.test_delivery.RefusingTransport"
    payment, url = start()
    client.post(url, {"action": "pay", "card_number": "4242424242424242"})
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    # when the sweep runs more than N minutes after it started
    import time_machine

    from simdesk.payments.tasks import payments_reconcile_sweep

    with time_machine.travel(now + timedelta(minutes=11), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert payments_reconcile_sweep.call() == 1
        # a second sweep right after does not ask again
        assert payments_reconcile_sweep.call() == 0
    # then the gateway's answer is applied like a webhook
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.history.get().source == "reconcile"
    assert received == [("payment_succeeded", payment.pk)]


def test_it_leaves_recent_and_open_payments_alone(start, now):
    payment, _url = start()
    import time_machine

    from simdesk.payments.tasks import payments_reconcile_sweep

    with time_machine.travel(now + timedelta(minutes=5), tick=False):
        assert payments_reconcile_sweep.call() == 0
    # a charge the customer has not paid yet stays pending after asking
    assert payment_reconcile(payment=payment, now=now + timedelta(minutes=20)) is False
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert payment.last_checked_at == now + timedelta(minutes=20)
