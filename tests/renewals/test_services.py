"""Auto-renewal with time moved explicitly: every service gets ``now``."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from simdesk.cards.models import PeriodState
from simdesk.cards.services import periods_advance
from simdesk.core.errors import NotFound, ServiceError
from simdesk.notifications.models import Notification
from simdesk.orders.models import Order, OrderStatus
from simdesk.payments.gateways.sandbox.models import SandboxCharge
from simdesk.payments.models import Payment
from simdesk.renewals.models import AttemptStatus, RenewalAttempt, RenewalSettings
from simdesk.renewals.selectors import cards_due_for_reminder, cards_due_for_renewal
from simdesk.renewals.services import (
    renewal_attempt,
    renewal_remind,
    renewal_settings_update,
)

from .conftest import DECLINES, GB

pytestmark = pytest.mark.django_db


def kinds(user):
    return list(Notification.objects.filter(user=user).order_by("pk")
                .values_list("kind", flat=True))


def renewal_kinds(user):
    return [k for k in kinds(user) if k.startswith("renewal_")]


# --- Before expiry ---------------------------------------------------------------------------

def test_it_renews_before_expiry_and_the_new_period_starts_exactly_when_the_old_one_ends(
        card, alice, current_period, renewing, now):
    # Given auto-renewal 24 h before the end, and the period ends in 12 h
    renewing()
    assert [d.card_id for d in cards_due_for_renewal(now=now)] == [card.pk]

    # When the renewal runs
    attempt = renewal_attempt(card=card, now=now)

    # Then one order is paid and fulfilled, its period queued behind the current one
    assert attempt.status == AttemptStatus.SUCCEEDED
    order = attempt.order
    assert order.status == OrderStatus.FULFILLED
    assert order.total_minor == 1200 and order.currency == "USD"
    assert order.period.state == PeriodState.QUEUED
    assert "renewal_succeeded" in kinds(alice)
    assert list(cards_due_for_renewal(now=now)) == []

    # And when the old period ends, the new one starts at that very instant
    periods_advance(card=card, now=current_period.ends_at + timedelta(minutes=3))
    order.period.refresh_from_db()
    assert order.period.state == PeriodState.ACTIVE
    assert order.period.starts_at == current_period.ends_at


def test_it_does_not_renew_before_the_window_opens(card, current_period, renewing, now):
    # Given the period ends in 12 h but renewal is set 6 h before the end
    renewing(hours=6)

    # When the renewal runs 12 h before the end
    # Then nothing is bought yet; 6 h before the end it is
    assert list(cards_due_for_renewal(now=now)) == []
    assert renewal_attempt(card=card, now=now) is None
    later = current_period.ends_at - timedelta(hours=6)
    assert renewal_attempt(card=card, now=later).status == AttemptStatus.SUCCEEDED


def test_it_never_renews_when_auto_renewal_is_off(card, current_period, now):
    assert list(cards_due_for_renewal(now=now)) == []
    assert renewal_attempt(card=card, now=now) is None
    assert not Payment.objects.exists()


# --- Low data ----------------------------------------------------------------------------------

def test_it_renews_when_the_data_left_falls_to_the_low_data_level(
        card, alice, current_period, renewing, use_data, started):
    # Given renewal only at 10 % data left, and the period still has weeks to run
    renewing(hours=None, percent=10)
    early = started + timedelta(days=2)
    use_data(card, 4 * GB, early)  # 20 % left
    assert list(cards_due_for_renewal(now=early)) == []

    # When usage brings it to 10 % left
    use_data(card, GB // 2, early)
    due = list(cards_due_for_renewal(now=early))

    # Then it is due for the low-data reason and renews
    assert [(d.card_id, d.reason) for d in due] == [(card.pk, "low_data")]
    assert renewal_attempt(card=card, now=early).status == AttemptStatus.SUCCEEDED
    assert RenewalAttempt.objects.get().order.period.state == PeriodState.QUEUED


# --- Reminder ----------------------------------------------------------------------------------

def test_it_reminds_the_customer_24_hours_before_the_charge_and_only_once(
        card, alice, current_period, renewing):
    # Given renewal 24 h before the end: the charge is at end − 24 h
    renewing(hours=24)
    charge_at = current_period.ends_at - timedelta(hours=24)

    # When the reminder sweep looks 25 h before the charge: too early
    assert list(cards_due_for_reminder(now=charge_at - timedelta(hours=25))) == []
    assert renewal_remind(card=card, now=charge_at - timedelta(hours=25)) is False

    # Then 24 h before the charge the reminder goes out, once
    at = charge_at - timedelta(hours=24)
    assert [d.card_id for d in cards_due_for_reminder(now=at)] == [card.pk]
    assert renewal_remind(card=card, now=at) is True
    assert renewal_remind(card=card, now=at + timedelta(hours=1)) is False
    assert list(cards_due_for_reminder(now=at + timedelta(hours=1))) == []
    reminder = Notification.objects.get(user=alice, kind="renewal_reminder")
    assert reminder.context["charge_at"] == charge_at.isoformat()
    assert "/renewal/off/" in reminder.context["off_url"]
    # And the charge at its time still happens (the reminder's placeholder is picked up)
    assert renewal_attempt(card=card, now=charge_at).status == AttemptStatus.SUCCEEDED
    assert RenewalAttempt.objects.count() == 1


# --- Dunning -----------------------------------------------------------------------------------

def test_it_retries_a_declined_renewal_after_1_6_and_24_hours_then_switches_itself_off(
        card, alice, current_period, renewing, now):
    # Given the saved card is declined
    renewing(DECLINES, hours=24)

    # When the renewal runs: the first decline schedules a retry in 1 h
    attempt = renewal_attempt(card=card, now=now)
    assert attempt.status == AttemptStatus.FAILED
    assert attempt.next_attempt_at == now + timedelta(hours=1)
    assert renewal_kinds(alice) == ["renewal_failed"]
    # Not before the retry is due
    assert renewal_attempt(card=card, now=now + timedelta(minutes=59)) is None

    t = now + timedelta(hours=1)
    attempt = renewal_attempt(card=card, now=t)
    assert attempt.next_attempt_at == t + timedelta(hours=6)
    t += timedelta(hours=6)
    attempt = renewal_attempt(card=card, now=t)
    assert attempt.next_attempt_at == t + timedelta(hours=24)
    t += timedelta(hours=24)
    attempt = renewal_attempt(card=card, now=t)

    # Then after the last retry it gives up and auto-renewal is off, with the e-mails
    assert attempt.status == AttemptStatus.GIVEN_UP
    assert RenewalSettings.objects.get(card=card).enabled is False
    assert renewal_kinds(alice) == ["renewal_failed"] * 3 + ["renewal_disabled"]
    failed = Notification.objects.filter(user=alice, kind="renewal_failed").first()
    assert failed.context["reason"]
    assert f"/cards/{card.public_id}/renewal/" in failed.context["settings_url"]
    # Four charges were tried, none succeeded, and nothing more happens
    assert Payment.objects.count() == 4
    assert SandboxCharge.objects.count() == 4
    assert renewal_attempt(card=card, now=t + timedelta(days=1)) is None
    assert Order.objects.get().status == OrderStatus.PAYMENT_FAILED
    assert [e.to_status for e in attempt.events.all()] == [
        "charging", "failed", "charging", "failed", "charging", "failed", "charging",
        "given_up"]
    assert not card.periods.filter(state=PeriodState.QUEUED).exists()


# --- Cap and duplicates -------------------------------------------------------------------------

def test_it_renews_a_card_at_most_twice_in_24_hours(
        card, alice, current_period, renewing, use_data, started, settings):
    # Given low-data renewal, and a customer who uses each plan up within hours
    settings.RENEWAL_MAX_PER_24H = 2
    renewing(hours=None, percent=10)
    t = started + timedelta(days=1)
    use_data(card, int(4.6 * GB), t)
    assert renewal_attempt(card=card, now=t).status == AttemptStatus.SUCCEEDED
    # The first period is used up: the renewed one starts, and is used down too
    use_data(card, int(0.4 * GB) + int(4.6 * GB), t + timedelta(hours=1))
    assert renewal_attempt(card=card, now=t + timedelta(hours=1)).status \
        == AttemptStatus.SUCCEEDED
    use_data(card, int(0.4 * GB) + int(4.6 * GB), t + timedelta(hours=2))

    # When a third renewal is due within 24 h of the first
    # Then it waits for the cap, and goes through once the first is 24 h old
    assert renewal_attempt(card=card, now=t + timedelta(hours=2)) is None
    assert Payment.objects.count() == 2
    third = renewal_attempt(card=card, now=t + timedelta(hours=24, seconds=1))
    assert third is not None and third.status == AttemptStatus.SUCCEEDED
    assert Payment.objects.count() == 3


def test_it_charges_once_when_the_same_renewal_runs_twice(card, current_period, renewing, now):
    renewing()
    first = renewal_attempt(card=card, now=now)
    second = renewal_attempt(card=card, now=now)
    assert first.status == AttemptStatus.SUCCEEDED
    assert second is None
    assert Payment.objects.count() == 1
    assert Order.objects.count() == 1
    assert card.periods.count() == 2


def test_a_worker_that_died_mid_charge_is_taken_over_without_a_second_charge(
        card, current_period, renewing, now):
    # Given a worker claimed the attempt and charged, then died before recording it
    renewing()
    from simdesk.renewals.services.attempt import _claim

    attempt = _claim(card, now)
    from simdesk.payments.services import payment_charge_saved_method

    rs = RenewalSettings.objects.get(card=card)
    payment_charge_saved_method(customer=card.owner, method=rs.payment_method, amount_minor=1200,
                                currency="USD", reference=attempt.idempotency_key,
                                idempotency_key=f"{attempt.idempotency_key}:1", now=now)

    # When the lease runs out and the retry sweep's task runs
    assert renewal_attempt(card=card, now=now + timedelta(minutes=5)) is None
    later = now + timedelta(minutes=11)
    result = renewal_attempt(card=card, now=later)

    # Then the same charge is found, not made again, and the card is renewed
    assert result.status == AttemptStatus.SUCCEEDED
    assert Payment.objects.count() == 1
    assert SandboxCharge.objects.count() == 1


def test_the_ledger_checks_out_after_a_renewal(card, current_period, renewing, now):
    renewing()
    renewal_attempt(card=card, now=now)
    periods_advance(card=card, now=current_period.ends_at + timedelta(hours=1))
    call_command("check-ledger")  # exits non-zero on any violation


# --- Settings ---------------------------------------------------------------------------------

def test_it_refuses_a_plan_that_cannot_be_renewed(card, alice, current_period, saved_method,
                                                  make_plan, now):
    topup = make_plan("topup-1gb", kind="topup", stacking="extend", data_bytes=GB)
    with pytest.raises(ServiceError) as error:
        renewal_settings_update(card=card, customer=alice, enabled=True, plan=topup,
                                currency="USD", trigger_before_expiry_hours=24,
                                trigger_low_data_percent=None,
                                payment_method=saved_method(), now=now)
    assert error.value.code == "plan_not_renewable"
    assert not RenewalSettings.objects.exists()


def test_it_refuses_another_customers_card_or_payment_method(
        card, alice, bob, plan, current_period, saved_method, now):
    bobs_method = saved_method(customer=bob, token="sbxpm_bob")  # noqa: S106
    with pytest.raises(NotFound):
        renewal_settings_update(card=card, customer=alice, enabled=True, plan=plan,
                                currency="USD", trigger_before_expiry_hours=24,
                                trigger_low_data_percent=None, payment_method=bobs_method,
                                now=now)
    with pytest.raises(NotFound):
        renewal_settings_update(card=card, customer=bob, enabled=False, plan=plan,
                                currency="USD", trigger_before_expiry_hours=24,
                                trigger_low_data_percent=None, payment_method=None, now=now)
    assert not RenewalSettings.objects.exists()


def test_it_needs_a_trigger_and_a_payment_method_to_switch_on(
        card, alice, plan, current_period, saved_method, now):
    with pytest.raises(ServiceError) as error:
        renewal_settings_update(card=card, customer=alice, enabled=True, plan=plan,
                                currency="USD", trigger_before_expiry_hours=None,
                                trigger_low_data_percent=None, payment_method=saved_method(),
                                now=now)
    assert error.value.code == "no_trigger"
    with pytest.raises(ServiceError) as error:
        renewal_settings_update(card=card, customer=alice, enabled=True, plan=None,
                                currency="USD", trigger_before_expiry_hours=24,
                                trigger_low_data_percent=None, payment_method=None, now=now)
    assert error.value.code == "no_payment_method"


def test_switching_it_on_again_after_it_gave_up_starts_a_new_round_with_a_new_order(
        card, alice, plan, current_period, renewing, saved_method, settings, now):
    # Given one retry only, and a declined card: it gives up after the retry
    settings.RENEWAL_DUNNING_SCHEDULE = [1]
    renewing(DECLINES)
    renewal_attempt(card=card, now=now)
    assert renewal_attempt(card=card, now=now + timedelta(hours=1)).status \
        == AttemptStatus.GIVEN_UP
    assert RenewalSettings.objects.get(card=card).enabled is False

    # When alice saves a working card and switches auto-renewal on again
    t = now + timedelta(hours=2)
    working = saved_method(token="sbxpm_alice_2")  # noqa: S106
    renewal_settings_update(card=card, customer=alice, enabled=True, plan=plan, currency="USD",
                            trigger_before_expiry_hours=24, trigger_low_data_percent=None,
                            payment_method=working, now=t)

    # Then the period is renewed with a fresh order and a third, new charge
    attempt = renewal_attempt(card=card, now=t)
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert Order.objects.count() == 2
    assert Payment.objects.count() == 3
    assert attempt.order.status == OrderStatus.FULFILLED


def test_a_renewal_order_the_customer_paid_by_hand_is_not_charged_again(
        card, alice, current_period, renewing, now):
    # Given the first charge was declined and alice then paid the order herself
    from simdesk.orders.services import order_payment_confirmed

    renewing(DECLINES)
    attempt = renewal_attempt(card=card, now=now)
    order_payment_confirmed(order=attempt.order, now=now + timedelta(minutes=10))

    # When the retry comes
    result = renewal_attempt(card=card, now=now + timedelta(hours=1))

    # Then nothing more is charged and the renewal counts as done
    assert result.status == AttemptStatus.SUCCEEDED
    assert Payment.objects.count() == 1
    assert card.periods.count() == 2
