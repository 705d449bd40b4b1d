"""The sweeps find due cards and the per-card tasks renew them; e-mails as sent."""

from datetime import timedelta

import pytest
from django.core import mail

from simdesk.renewals.models import AttemptStatus, RenewalAttempt
from simdesk.renewals.tasks import (
    renewal_reminders_sweep,
    renewal_retries_sweep,
    renewals_due_sweep,
)

from .conftest import DECLINES

pytestmark = pytest.mark.django_db


def test_the_sweeps_remind_then_renew_when_the_clock_reaches_each_time(
        card, current_period, renewing, time_machine, django_capture_on_commit_callbacks):
    # Given renewal 24 h before the end, with the reminder 24 h before that
    renewing(hours=24)
    charge_at = current_period.ends_at - timedelta(hours=24)

    # When the clock is 23 h before the charge
    time_machine.move_to(charge_at - timedelta(hours=23))
    with django_capture_on_commit_callbacks(execute=True):
        assert renewal_reminders_sweep.call() == 1
        assert renewals_due_sweep.call() == 0
    # Then the reminder e-mail went out, with the one-click off link
    assert len(mail.outbox) == 1
    assert "renews soon" in mail.outbox[0].subject
    assert "/renewal/off/" in mail.outbox[0].body

    # When the charge time comes
    time_machine.move_to(charge_at + timedelta(seconds=30))
    with django_capture_on_commit_callbacks(execute=True):
        assert renewals_due_sweep.call() == 1
    # Then the card is renewed and told so
    assert RenewalAttempt.objects.get().status == AttemptStatus.SUCCEEDED
    subjects = [m.subject for m in mail.outbox]
    assert any("was renewed" in s for s in subjects)
    assert renewals_due_sweep.call() == 0


def test_the_dunning_sweep_retries_a_declined_renewal_when_its_time_comes(
        card, current_period, renewing, time_machine, now, django_capture_on_commit_callbacks):
    renewing(DECLINES)
    time_machine.move_to(now)
    with django_capture_on_commit_callbacks(execute=True):
        renewals_due_sweep.call()
    failed = [m for m in mail.outbox if "could not renew" in m.subject]
    assert len(failed) == 1
    assert f"/cards/{card.public_id}/renewal/" in failed[0].body
    assert "/renewal/off/" in failed[0].body

    time_machine.move_to(now + timedelta(minutes=30))
    assert renewal_retries_sweep.call() == 0
    time_machine.move_to(now + timedelta(hours=1, seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert renewal_retries_sweep.call() == 1
    assert RenewalAttempt.objects.get().attempt_count == 2
    assert len([m for m in mail.outbox if "could not renew" in m.subject]) == 2


def test_a_backlog_of_due_cards_is_handed_out_page_by_page_and_once_per_lease(
        make_card, alice, plan, saved_method, started, now, time_machine, monkeypatch):
    # Given five due cards, read two at a time, and workers that have not run yet
    from simdesk.cards.services import period_create
    from simdesk.renewals import selectors, tasks
    from simdesk.renewals.services import renewal_settings_update
    from simdesk.renewals.services.attempt import ENQUEUE_LEASE

    monkeypatch.setattr(selectors, "PAGE", 2)
    cards = []
    for i in range(5):
        card = make_card(owner=alice)
        period_create(card=card, plan=plan, source=f"test:first:{i}", now=started)
        renewal_settings_update(card=card, customer=alice, enabled=True, plan=plan,
                                currency="USD", trigger_before_expiry_hours=24,
                                trigger_low_data_percent=None,
                                payment_method=saved_method(token=f"sbxpm_{i}"), now=now)
        cards.append(card)
    queued = []
    monkeypatch.setattr(tasks, "renewal_run",
                        type("Recorder", (), {"enqueue": staticmethod(
                            lambda card_id: queued.append(card_id))}))
    time_machine.move_to(now)

    # When the sweep runs, and again a minute later while the tasks still wait
    assert renewals_due_sweep.call() == 5
    time_machine.move_to(now + timedelta(minutes=1))
    assert renewals_due_sweep.call() == 0

    # Then every card was handed out exactly once
    assert sorted(queued) == sorted(card.pk for card in cards)

    # And if the tasks were lost, the cards are due again once the lease has passed
    time_machine.move_to(now + ENQUEUE_LEASE + timedelta(seconds=1))
    assert renewals_due_sweep.call() == 5
    assert len(queued) == 10
