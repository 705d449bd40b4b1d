"""The customer's pause: who may pause, how the clocks stop and the ends move, the
automatic end at the maximum, and how it meets a staff suspension and usage."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command

from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import (
    Card,
    CardEvent,
    CardState,
    NetworkAction,
    NetworkActionKind,
    Period,
    PeriodState,
)
from simdesk.cards.selectors import (
    card_balance,
    card_pause_status,
    cards_pause_due,
    cards_with_due_work,
)
from simdesk.cards.services import (
    card_debit_usage,
    card_pause,
    card_pause_expire,
    card_resume,
    card_suspend,
    card_unpause,
    period_create,
    periods_advance,
)
from simdesk.cards.tasks import cards_pause_expire_sweep
from simdesk.catalog.models import PlanKind, ValidityStart
from simdesk.core.errors import Conflict

from .conftest import GB, MB

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_pausable_plan(make_plan):
    def make(*, max_days=7, **kwargs):
        plan = make_plan(**kwargs)
        plan.pausable, plan.max_pause_days = True, max_days
        plan.save(update_fields=["pausable", "max_pause_days"])
        return plan

    return make


@pytest.fixture
def paused_card(card, make_pausable_plan, now):
    """alice's card with a pausable 1 GB / 30-day plan (up to 7 days of pause) active since
    ``now``."""
    period_create(card=card, plan=make_pausable_plan(days=30), source="test:pausable", now=now)
    card.refresh_from_db()
    return card


def refused(code, call):
    with pytest.raises(Conflict) as error:
        call()
    assert error.value.code == code
    return str(error.value)


def periods(card):
    return {p.source: p for p in Period.objects.filter(card=card)}


# --- Refusals --------------------------------------------------------------------------------

def test_it_refuses_to_pause_a_plan_that_cannot_be_paused(card, make_plan, alice, now):
    period_create(card=card, plan=make_plan(), source="test:fixed", now=now)

    message = refused("not_pausable", lambda: card_pause(card=card, acting_user=alice, now=now))

    assert message == "The plan on this card cannot be paused."
    card.refresh_from_db()
    assert card.state == CardState.ACTIVE and card.paused_at is None
    assert not NetworkAction.objects.filter(card=card).exists()


def test_it_refuses_to_pause_a_card_already_paused(paused_card, alice, now):
    card_pause(card=paused_card, acting_user=alice, now=now)

    message = refused("already_paused", lambda: card_pause(card=paused_card, acting_user=alice,
                                                           now=now + timedelta(hours=1)))

    assert message == "This card is already paused."
    paused_card.refresh_from_db()
    assert paused_card.paused_at == now


def test_it_refuses_to_pause_a_suspended_card(paused_card, alice, now):
    card_suspend(card=paused_card, reason="fraud check", now=now)

    message = refused("card_suspended",
                      lambda: card_pause(card=paused_card, acting_user=alice, now=now))

    assert "suspended by our staff" in message


def test_it_refuses_to_pause_beyond_the_maximum(paused_card, alice, now):
    # Given alice paused for 3 days and then for the remaining 4 (7 in all)
    card_pause(card=paused_card, acting_user=alice, now=now)
    card_unpause(card=paused_card, acting_user=alice, now=now + timedelta(days=3))
    card_pause(card=paused_card, acting_user=alice, now=now + timedelta(days=4))
    paused_card.refresh_from_db()
    assert paused_card.pause_until == now + timedelta(days=8)  # only 4 days were left
    card_unpause(card=paused_card, acting_user=alice, now=now + timedelta(days=8))

    # When she asks for more, then it is refused: the allowance is used up
    message = refused("pause_used_up", lambda: card_pause(card=paused_card, acting_user=alice,
                                                          now=now + timedelta(days=9)))

    assert message == "You have already used all 7 days of pause this plan allows."


def test_it_refuses_to_pause_a_card_without_an_active_plan(card, alice, now):
    refused("no_active_plan", lambda: card_pause(card=card, acting_user=alice, now=now))


def test_it_refuses_to_resume_a_card_that_is_not_paused(paused_card, alice, now):
    message = refused("not_paused",
                      lambda: card_unpause(card=paused_card, acting_user=alice, now=now))

    assert message == "This card is not paused."


def test_it_decides_by_the_terms_copied_at_sale_not_the_plan_as_edited(card, make_pausable_plan,
                                                                       alice, now):
    plan = make_pausable_plan(max_days=2)
    period_create(card=card, plan=plan, source="test:sold", now=now)
    plan.pausable, plan.max_pause_days = False, 0
    plan.save()

    card_pause(card=card, acting_user=alice, now=now)

    card.refresh_from_db()
    assert card.pause_until == now + timedelta(days=2)


# --- Pause and resume ------------------------------------------------------------------------

def test_it_pauses_the_card_and_asks_the_network_to_stop_it(paused_card, alice, now):
    card_pause(card=paused_card, acting_user=alice, now=now)

    paused_card.refresh_from_db()
    assert paused_card.state == CardState.PAUSED
    assert paused_card.paused_at == now
    assert paused_card.pause_until == now + timedelta(days=7)
    [action] = NetworkAction.objects.filter(card=paused_card)
    assert action.action == NetworkActionKind.SUSPEND
    event = CardEvent.objects.filter(card=paused_card, kind=CardEvent.Kind.STATE).last()
    assert (event.from_state, event.to_state, event.actor) == (CardState.ACTIVE,
                                                               CardState.PAUSED, alice)


def test_it_moves_every_running_end_by_exactly_the_paused_time(card, make_pausable_plan,
                                                               make_plan, alice, now):
    # Given a running base period, a parallel top-up, a queued period and a first-use one
    base = make_pausable_plan(days=30)
    period_create(card=card, plan=base, source="base", now=now)
    period_create(card=card, plan=make_plan(days=10, kind=PlanKind.TOPUP, stacking="parallel"),
                  source="topup", now=now + timedelta(hours=1))
    period_create(card=card, plan=make_plan(days=30), source="queued", now=now)
    before = periods(card)
    paused_at = now + timedelta(days=2, seconds=17)
    resumed_at = paused_at + timedelta(days=3, hours=4, minutes=5, seconds=6)

    # When alice pauses and resumes
    card_pause(card=card, acting_user=alice, now=paused_at)
    card_unpause(card=card, acting_user=alice, now=resumed_at)

    # Then each running end moved by the paused time to the second; the queued one waits
    after = periods(card)
    paused = resumed_at - paused_at
    for source in ("base", "topup"):
        assert after[source].ends_at - before[source].ends_at == paused
        assert after[source].starts_at == before[source].starts_at
    assert after["queued"].state == PeriodState.QUEUED and after["queued"].ends_at is None
    card.refresh_from_db()
    assert card.state == CardState.ACTIVE and card.paused_at is None
    assert after["base"].paused_seconds == int(paused.total_seconds())
    assert [a.action for a in NetworkAction.objects.filter(card=card).order_by("id")][-2:] == [
        NetworkActionKind.SUSPEND, NetworkActionKind.RESUME]
    moves = CardEvent.objects.filter(card=card, kind=CardEvent.Kind.PERIOD,
                                     note__startswith="pause")
    assert moves.count() == 2
    assert list(ledger_violations()) == []


def test_it_expires_nothing_while_paused_and_the_queued_period_starts_at_the_moved_end(
        card, make_pausable_plan, make_plan, alice, now):
    period_create(card=card, plan=make_pausable_plan(days=5), source="base", now=now)
    period_create(card=card, plan=make_plan(days=30), source="next", now=now)
    card_pause(card=card, acting_user=alice, now=now + timedelta(days=4))

    # The sweep and the advance, long after the period's original end, change nothing
    assert not cards_with_due_work(now=now + timedelta(days=6)).filter(pk=card.pk).exists()
    periods_advance(card=card, now=now + timedelta(days=6))
    assert periods(card)["base"].state == PeriodState.ACTIVE

    card_unpause(card=card, acting_user=alice, now=now + timedelta(days=7))
    periods_advance(card=card, now=now + timedelta(days=8, hours=1))

    after = periods(card)
    assert after["base"].state == PeriodState.EXPIRED
    assert after["base"].ends_at == now + timedelta(days=8)
    assert after["next"].starts_at == now + timedelta(days=8)


def test_it_pauses_a_first_use_period_that_has_not_started_without_moving_anything(
        card, make_pausable_plan, alice, now):
    plan = make_pausable_plan(days=10, validity_start=ValidityStart.ON_FIRST_USE)
    period_create(card=card, plan=plan, source="first-use", now=now)

    card_pause(card=card, acting_user=alice, now=now)
    card_unpause(card=card, acting_user=alice, now=now + timedelta(days=2))

    period = periods(card)["first-use"]
    assert period.starts_at is None and period.ends_at is None
    assert period.paused_seconds == 2 * 86400  # the allowance is used all the same


# --- The automatic end -----------------------------------------------------------------------

def test_it_ends_the_pause_at_the_maximum_with_an_email_and_a_second_sweep_does_nothing(
        paused_card, alice, now, django_capture_on_commit_callbacks, time_machine):
    end_before = periods(paused_card)["test:pausable"].ends_at
    card_pause(card=paused_card, acting_user=alice, now=now)

    # A minute after the maximum the sweep runs (twice: a second clock, a retried job)
    time_machine.move_to(now + timedelta(days=7, minutes=1), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert cards_pause_expire_sweep.call() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert cards_pause_expire_sweep.call() == 0
        assert card_pause_expire(card=paused_card, now=now + timedelta(days=7, minutes=2)) \
            is False

    paused_card.refresh_from_db()
    assert paused_card.state == CardState.ACTIVE and paused_card.paused_at is None
    # The pause is exactly the maximum, not until the sweep happened to run
    assert periods(paused_card)["test:pausable"].ends_at == end_before + timedelta(days=7)
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert "is active again" in message.subject
    assert "The card carries data again." in message.body
    assert "paused time was added to the end of your plan" in message.body
    assert NetworkAction.objects.filter(card=paused_card,
                                        action=NetworkActionKind.RESUME).count() == 1


def test_it_does_not_end_a_pause_before_its_maximum(paused_card, alice, now):
    card_pause(card=paused_card, acting_user=alice, now=now)

    assert not cards_pause_due(now=now + timedelta(days=7) - timedelta(seconds=1)).exists()
    assert card_pause_expire(card=paused_card, now=now + timedelta(days=6)) is False
    assert cards_pause_due(now=now + timedelta(days=7)).get() == paused_card


# --- Staff suspension ------------------------------------------------------------------------

def test_it_keeps_a_paused_card_paused_when_staff_lift_a_suspension(paused_card, alice, now):
    card_pause(card=paused_card, acting_user=alice, now=now)
    card_suspend(card=paused_card, reason="fraud check", now=now + timedelta(hours=1))
    refused("card_suspended", lambda: card_unpause(card=paused_card, acting_user=alice,
                                                   now=now + timedelta(hours=2)))

    card_resume(card=paused_card, reason="cleared", now=now + timedelta(hours=3))

    paused_card.refresh_from_db()
    assert paused_card.state == CardState.PAUSED and paused_card.paused_at == now
    # The network is not told to let the card carry traffic
    assert not NetworkAction.objects.filter(card=paused_card,
                                            action=NetworkActionKind.RESUME).exists()
    end_before = periods(paused_card)["test:pausable"].ends_at
    card_unpause(card=paused_card, acting_user=alice, now=now + timedelta(hours=5))
    assert periods(paused_card)["test:pausable"].ends_at == end_before + timedelta(hours=5)


def test_it_ends_a_pause_under_a_suspension_and_the_card_stays_suspended(
        paused_card, alice, now, django_capture_on_commit_callbacks):
    card_pause(card=paused_card, acting_user=alice, now=now)
    card_suspend(card=paused_card, reason="fraud check", now=now + timedelta(days=1))
    end_before = periods(paused_card)["test:pausable"].ends_at

    with django_capture_on_commit_callbacks(execute=True):
        assert card_pause_expire(card=paused_card, now=now + timedelta(days=8)) is True

    paused_card.refresh_from_db()
    assert paused_card.state == CardState.SUSPENDED and paused_card.paused_at is None
    assert periods(paused_card)["test:pausable"].ends_at == end_before + timedelta(days=7)
    assert "still suspended by our staff" in mail.outbox[0].body
    # Staff lifting the suspension now makes it active: the pause is over
    card_resume(card=paused_card, reason="cleared", now=now + timedelta(days=9))
    paused_card.refresh_from_db()
    assert paused_card.state == CardState.ACTIVE


# --- Usage while paused ----------------------------------------------------------------------

def test_it_debits_usage_reported_while_paused_and_stays_paused(card, make_pausable_plan,
                                                                make_plan, alice, now):
    # Given a 100 MB pausable period with a queued one behind it, paused after a day
    period_create(card=card, plan=make_pausable_plan(data_bytes=100 * MB, days=30), source="base",
                  now=now)
    period_create(card=card, plan=make_plan(data_bytes=GB, days=30), source="next", now=now)
    paused_at = now + timedelta(days=1)
    card_pause(card=card, acting_user=alice, now=paused_at)

    # When usage from a session still open uses the period up during the pause
    used_at = paused_at + timedelta(minutes=10)
    result = card_debit_usage(card=card, bytes=150 * MB, reference="usage:test:late",
                              at=used_at, now=paused_at + timedelta(hours=1))

    # Then it is debited (and the next period takes the rest), the card stays paused
    assert result.debited and result.overage_bytes == 0
    card.refresh_from_db()
    assert card.state == CardState.PAUSED
    after = periods(card)
    assert after["base"].state == PeriodState.EXHAUSTED
    assert after["next"].starts_at == used_at
    # and on resume the next period's clock counts only from the end of the pause
    resumed_at = paused_at + timedelta(days=2)
    card_unpause(card=card, acting_user=alice, now=resumed_at)
    assert periods(card)["next"].ends_at == resumed_at + timedelta(days=30)
    assert list(ledger_violations()) == []
    call_command("check-ledger")  # exits non-zero on a violation


def test_it_shows_what_the_customer_may_do(paused_card, alice, now):
    status = card_pause_status(card=paused_card, now=now)
    assert status.can_pause and not status.can_resume
    assert status.max_pause_days == 7 and status.pause_left == timedelta(days=7)

    card_pause(card=paused_card, acting_user=alice, now=now)
    status = card_pause_status(card=Card.objects.get(pk=paused_card.pk), now=now)
    assert status.can_resume and not status.can_pause
    assert status.pause_until == now + timedelta(days=7)


def test_it_shows_a_paused_cards_end_where_resuming_now_would_put_it(card, make_pausable_plan,
                                                                     alice, now):
    period_create(card=card, plan=make_pausable_plan(days=5), source="base", now=now)
    card_pause(card=card, acting_user=alice, now=now + timedelta(days=4))
    card.refresh_from_db()

    # Two days after the original end the period still counts, ending 3 days on
    balance = card_balance(card=card, now=now + timedelta(days=7))

    assert balance.valid_until == now + timedelta(days=8)
    assert balance.remaining_bytes == GB
    # never beyond the maximum (day 11), even if the sweep has not ended the pause yet
    late = card_balance(card=card, now=now + timedelta(days=11, hours=12))
    assert late.valid_until == now + timedelta(days=12)
    assert card_balance(card=card, now=now + timedelta(days=12)).valid_until is None


def test_it_writes_the_email_in_html_too_and_names_the_card(paused_card, alice, now,
                                                          django_capture_on_commit_callbacks):
    paused_card.label = "Travel eSIM"
    paused_card.save(update_fields=["label"])
    card_pause(card=paused_card, acting_user=alice, now=now)

    with django_capture_on_commit_callbacks(execute=True):
        card_pause_expire(card=paused_card, now=now + timedelta(days=7))

    [message] = mail.outbox
    assert "Travel eSIM" in message.subject
    html = message.alternatives[0][0]
    assert "Travel eSIM" in html and "The card carries data again." in html
    assert f"/cards/{paused_card.public_id}/" in html


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_ends_a_pause_once_when_two_workers_end_it_at_the_same_moment(
        card, make_pausable_plan, alice, now):
    import threading

    from django.db import connection

    from simdesk.notifications.models import Notification

    period_create(card=card, plan=make_pausable_plan(days=30), source="base", now=now)
    end_before = periods(card)["base"].ends_at
    card_pause(card=card, acting_user=alice, now=now)
    start, results, errors = threading.Barrier(2), [], []

    def worker():
        try:
            start.wait()
            results.append(card_pause_expire(card=card, now=now + timedelta(days=7, minutes=1)))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(results) == [False, True]
    assert periods(card)["base"].ends_at == end_before + timedelta(days=7)
    assert Notification.objects.filter(kind="pause_ended").count() == 1


def test_it_shows_staff_a_pause_that_goes_on_under_a_suspension(paused_card, alice, make_user,
                                                                  client, now):
    card_pause(card=paused_card, acting_user=alice, now=now)
    card_suspend(card=paused_card, reason="fraud check", now=now + timedelta(hours=1))
    client.force_login(make_user("ops@example.com", is_staff=True, is_superuser=True))

    page = client.get(f"/admin/cards/card/{paused_card.pk}/change/")

    assert page.status_code == 200
    assert "Paused at" in page.text and "Pause ends at the latest" in page.text


def test_it_extends_a_paused_period_from_where_its_clock_stopped(card, make_pausable_plan,
                                                                 make_plan, alice, now):
    # Given a 5-day period paused on day 4 (1 day left), still paused on day 9
    period_create(card=card, plan=make_pausable_plan(days=5), source="base", now=now)
    card_pause(card=card, acting_user=alice, now=now + timedelta(days=4))

    # When a 10-day extension is bought on day 6 and the card is resumed on day 9
    period_create(card=card, plan=make_plan(days=10, stacking="extend"), source="more",
                  now=now + timedelta(days=6))
    card_unpause(card=card, acting_user=alice, now=now + timedelta(days=9))

    # Then the 1 day left and the 10 days bought run from the resume
    assert periods(card)["base"].ends_at == now + timedelta(days=9 + 1 + 10)
    assert list(ledger_violations()) == []
