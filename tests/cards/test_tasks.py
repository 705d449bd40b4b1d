from datetime import timedelta

import pytest
import time_machine

from config.schedule import SCHEDULE
from simdesk.cards.models import CardState, PeriodState
from simdesk.cards.services import period_create
from simdesk.cards.tasks import card_advance, cards_advance_sweep

pytestmark = pytest.mark.django_db


def test_the_sweep_is_scheduled_every_minute():
    sweep = next(s for s in SCHEDULE if s.name == "cards-advance-periods")
    assert sweep.every == timedelta(minutes=1)
    assert sweep.task == "simdesk.cards.tasks.cards_advance_sweep"


def test_the_sweep_expires_ended_periods_and_starts_queued_ones(card, make_card, make_plan,
                                                                 now):
    first = period_create(card=card, plan=make_plan(days=1), source="a", now=now)
    second = period_create(card=card, plan=make_plan(days=1), source="b", now=now)
    other = make_card()
    period_create(card=other, plan=make_plan(days=30), source="c", now=now)
    with time_machine.travel(now + timedelta(days=1, minutes=1), tick=False):
        result = cards_advance_sweep.enqueue()
    assert result.return_value == 1  # only the card with due work got a task
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == PeriodState.EXPIRED
    assert second.state == PeriodState.ACTIVE and second.starts_at == first.ends_at


def test_the_per_card_task_is_safe_to_run_twice_or_for_a_vanished_card(card, make_plan, now):
    period_create(card=card, plan=make_plan(days=1), source="a", now=now)
    with time_machine.travel(now + timedelta(days=2), tick=False):
        card_advance.enqueue(card_id=card.pk)
        card_advance.enqueue(card_id=card.pk)
        card_advance.enqueue(card_id=999_999)
    card.refresh_from_db()
    assert card.state == CardState.INACTIVE
    assert card.ledger.count() == 2  # purchase and one expiry
