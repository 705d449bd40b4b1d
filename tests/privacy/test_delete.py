"""Delete my account: the person is erased, the books are kept, the cards are released."""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from simdesk.accounts.models import PersonalAccessToken, User
from simdesk.accounts.tokens import token_authenticate
from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import (
    Card,
    CardState,
    LedgerEntry,
    NetworkAction,
    NetworkActionKind,
    PeriodState,
)
from simdesk.core.errors import Conflict, ServiceError
from simdesk.notifications.messages import notify_payment_failed
from simdesk.notifications.models import Notification, NotificationPreferences
from simdesk.notifications.services import notification_preferences_update
from simdesk.orders.models import Order, OrderStatus
from simdesk.orders.services import order_create, order_pay
from simdesk.payments.models import Payment, PaymentStatus, SavedPaymentMethod
from simdesk.privacy.deletion import customer_delete
from simdesk.renewals.models import RenewalSettings
from tests.privacy.conftest import PASSWORD


@pytest.fixture
def delete(django_capture_on_commit_callbacks):
    def run(user, now):
        with django_capture_on_commit_callbacks(execute=True):
            return customer_delete(customer=user, now=now)

    return run


def test_it_erases_every_personal_field_of_the_user(alices, delete, now):
    alice = alices.user
    alice.language, alice.time_zone, alice.currency = "zh-hans", "Asia/Shanghai", "CNY"
    alice.last_login = now
    alice.save()
    public_id = alice.public_id

    delete(alice, now)

    row = User.objects.get(pk=alice.pk)
    assert row.email == f"deleted-{public_id.hex}@deleted.invalid"
    assert (row.language, row.time_zone, row.currency) == ("", "UTC", "")
    assert row.last_login is None
    assert row.is_active is False
    assert not row.has_usable_password()
    assert not row.check_password(PASSWORD)
    assert row.deleted_at == now
    assert not User.objects.filter(email__icontains="alice").exists()


def test_it_removes_sign_in_methods_tokens_and_saved_payment_methods(alices, delete, now):
    alice = alices.user

    delete(alice, now)

    assert not EmailAddress.objects.filter(user=alice).exists()
    assert not EmailAddress.objects.filter(email="alice@example.com").exists()
    assert not Authenticator.objects.filter(user=alice).exists()
    token = PersonalAccessToken.objects.get(user=alice)
    assert token.revoked_at == now and token.name == ""
    assert token_authenticate(plaintext=alices.token_plaintext, now=now) is None
    assert SavedPaymentMethod.objects.get(pk=alices.method.pk).removed_at == now


def test_it_erases_messages_and_preferences(alices, delete, now,
                                            django_capture_on_commit_callbacks):
    alice = alices.user
    notification_preferences_update(user=alice, marketing=True, alerts=True,
                                    usage_thresholds=[50], expiry_days=[2], now=now)
    sent = Notification.objects.filter(user=alice).count()
    assert sent
    with django_capture_on_commit_callbacks(execute=False):  # queued, not sent yet
        notify_payment_failed(user=alice, reason="declined", retry_url="/", dedupe_key="x",
                              now=now)

    delete(alice, now)

    assert not NotificationPreferences.objects.filter(user=alice).exists()
    kept = Notification.objects.filter(user=alice)
    assert kept.count() == sent
    assert all(n.context == {} and n.status == "sent" for n in kept)


def test_it_keeps_orders_payments_and_the_ledger_pointing_at_the_anonymous_user(
        alices, delete, now):
    alice = alices.user
    ledger_before = set(LedgerEntry.objects.filter(card=alices.card).values_list("pk", flat=True))

    delete(alice, now)

    order = Order.objects.get(pk=alices.order.pk)
    assert order.customer_id == alice.pk and order.status == OrderStatus.FULFILLED
    assert order.total_minor == 1200
    assert Payment.objects.get(customer=alice).amount_minor == 1200
    assert ledger_before <= set(LedgerEntry.objects.filter(card=alices.card)
                                .values_list("pk", flat=True))
    assert list(ledger_violations()) == []
    call_command("check-ledger")


def test_it_releases_a_physical_card_back_to_inventory_without_a_usable_claim_code(
        alices, delete, now):
    delete(alices.user, now)

    card = Card.objects.get(pk=alices.card.pk)
    assert card.owner is None and card.claimed_at is None and card.label == ""
    assert card.claim_code == "" and not card.check_claim_code("ABC123")
    assert card.state == CardState.INACTIVE
    period = card.periods.get()
    assert period.state == PeriodState.CANCELLED and period.remaining_bytes == 0
    assert RenewalSettings.objects.get(card=card).enabled is False


def test_it_terminates_an_esim_and_asks_the_network_to_suspend_it(alices, delete, now):
    delete(alices.user, now)

    esim = Card.objects.get(pk=alices.esim.pk)
    assert esim.owner is None and esim.state == CardState.TERMINATED
    assert NetworkAction.objects.filter(card=esim, action=NetworkActionKind.SUSPEND).exists()


def test_it_leaves_another_customer_alone(alices, bobs, delete, now):
    delete(alices.user, now)

    bob = User.objects.get(pk=bobs.user.pk)
    assert bob.email == "bob@example.com" and bob.is_active and bob.check_password(PASSWORD)
    assert Card.objects.filter(owner=bob).count() == 2
    assert bobs.card.periods.get().state == PeriodState.ACTIVE
    assert RenewalSettings.objects.get(card=bobs.card).enabled is True
    assert PersonalAccessToken.objects.get(user=bob).revoked_at is None
    assert EmailAddress.objects.filter(user=bob).exists()


def test_it_confirms_by_e_mail_to_the_address_the_account_had(alices, delete, now):
    mail.outbox.clear()

    delete(alices.user, now)

    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert "deleted" in message.subject


def test_it_writes_the_confirmation_in_the_customers_language(alices, delete, now):
    alice = alices.user
    alice.language = "zh-hans"
    alice.save()
    mail.outbox.clear()

    delete(alice, now)

    [message] = mail.outbox
    assert message.to == ["alice@example.com"]


def test_it_is_safe_to_call_twice(alices, delete, now):
    delete(alices.user, now)
    mail.outbox.clear()

    again = delete(User.objects.get(pk=alices.user.pk), now + timedelta(minutes=1))

    assert again.deleted_at == now
    assert mail.outbox == []
    assert list(ledger_violations()) == []


def test_it_refuses_while_an_order_awaits_payment(alices, plan, delete, now):
    alice = alices.user
    order = order_create(customer=alice, card=alices.card, plan=plan, currency="USD",
                         idempotency_key="alice-2", now=now)
    order_pay(order=order, gateway="sandbox", return_url="http://testserver/", now=now)
    mail.outbox.clear()

    with pytest.raises(Conflict) as refused:
        delete(alice, now)

    assert "waiting for payment" in str(refused.value)
    row = User.objects.get(pk=alice.pk)
    assert row.email == "alice@example.com" and row.is_active and row.deleted_at is None
    assert Card.objects.get(pk=alices.card.pk).owner_id == alice.pk
    assert mail.outbox == []


def test_it_refuses_while_a_refund_is_not_yet_on_its_order(alices, delete, now):
    # The gateway has refunded part of the payment; the order is told after that commits.
    payment = Payment.objects.get(customer=alices.user)
    payment.refunded_minor = 200
    payment.save(update_fields=["refunded_minor"])
    payment.transition(PaymentStatus.PARTIALLY_REFUNDED, at=now)

    with pytest.raises(Conflict) as refused:
        delete(alices.user, now)

    assert "refund" in str(refused.value)
    assert User.objects.get(pk=alices.user.pk).deleted_at is None


def test_it_refuses_a_staff_account(make_user, delete, now):
    staff = make_user("agent@example.com", is_staff=True)

    with pytest.raises(ServiceError):
        delete(staff, now)

    assert User.objects.get(pk=staff.pk).is_active


def test_it_refuses_while_a_refund_request_awaits_a_decision(alices, delete, now):
    from simdesk.orders.services.refund_requests import refund_request_create

    # alice has used some of her data: staff decide, so the request waits.
    request = refund_request_create(customer=alices.user, period=alices.period,
                                    reason="Moved back home early", now=now)
    assert request.status == "pending"

    with pytest.raises(Conflict) as refused:
        delete(alices.user, now)

    assert "refund" in str(refused.value)
    assert User.objects.get(pk=alices.user.pk).deleted_at is None


def test_it_keeps_a_decided_refund_request_without_the_customers_words(alices, delete, now):
    from simdesk.orders.models import RefundRequest
    from simdesk.orders.services.refund_requests import refund_request_create

    request = refund_request_create(customer=alices.user, period=alices.period,
                                    reason="Moved back home early", now=now)
    RefundRequest.objects.filter(pk=request.pk).update(status="rejected")

    delete(alices.user, now)

    kept = RefundRequest.objects.get(pk=request.pk)
    assert kept.customer_id == alices.user.pk and kept.status == "rejected"
    assert kept.reason == ""


def test_it_releases_a_card_whose_period_ended_before_the_sweep_ran(alices, plan, delete, now):
    from simdesk.cards.services import period_create

    # A second period queued behind the first; delete a day after the first ended.
    period_create(card=alices.card, plan=plan, source="test:queued", now=now)
    alices.period.refresh_from_db()
    later = alices.period.ends_at + timedelta(days=1)

    delete(alices.user, later)

    states = sorted(alices.card.periods.values_list("state", flat=True))
    assert states == [PeriodState.CANCELLED, PeriodState.EXPIRED]
    assert list(ledger_violations()) == []


def test_it_frees_the_address_for_a_new_account(alices, delete, now):
    delete(alices.user, now)

    response = Client().post(reverse("account_signup"), {
        "email": "alice@example.com", "password1": "a new long passphrase",
        "password2": "a new long passphrase"})

    assert response.status_code == 302
    fresh = User.objects.get(email="alice@example.com")
    assert fresh.pk != alices.user.pk and fresh.deleted_at is None
    assert not Card.objects.filter(owner=fresh).exists()
