"""Requests read the time before they wait for the card lock: a pause or resume that waited
behind a later one must not act in the past.

Found by the one-card race (test_one_card_race): a resume that waited while another
request paused the card at a later moment ended that pause before it began; its
negative length was taken off the period's pause allowance (and below zero the
database refused it: an error instead of a resume).
"""

from datetime import timedelta

import pytest

from simdesk.cards.iccid import iccid_with_check_digit
from simdesk.cards.models import Card, CardEvent, CardState
from simdesk.cards.services import card_pause, card_unpause, period_create
from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
from simdesk.catalog.services import plan_upsert

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(alice, now):
    """alice's card with a 10-day pausable period (30 days of pause allowed)."""
    plan = plan_upsert(code="pausable-1gb", terms={
        "kind": PlanKind.BASE, "data_bytes": 10**9, "validity_days": 10,
        "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
        "region": None, "pausable": True, "max_pause_days": 30},
        translations={"en": ("Pausable 1 GB", "")}, prices={"USD": 500}, countries=("FR",),
        now=now)
    card = Card.objects.create(iccid=iccid_with_check_digit("894470099000000123"), owner=alice)
    period_create(card=card, plan=plan, source="test:first", now=now)
    card.refresh_from_db()
    return card


def _pauses(card):
    events = CardEvent.objects.filter(card=card, kind=CardEvent.Kind.STATE).order_by("id")
    return [(e.from_state, e.to_state, e.at) for e in events]


def test_it_never_ends_a_pause_before_it_began(alice, card, now):
    # Given a resume request read the time at now + 1 s, then waited while another
    # request paused the card at now + 5 s
    card_pause(card=card, acting_user=alice, now=now + timedelta(seconds=5))

    # When the resume goes ahead with its earlier time
    card_unpause(card=card, acting_user=alice, now=now + timedelta(seconds=1))

    # Then the pause ends when it began, not before: nothing is charged or given back
    card.refresh_from_db()
    period = card.periods.get()
    assert card.state == CardState.ACTIVE and card.paused_at is None
    assert period.paused_seconds == 0
    assert period.ends_at == now + timedelta(days=10)
    assert _pauses(card)[-1] == (CardState.PAUSED, CardState.ACTIVE, now + timedelta(seconds=5))


def test_it_never_starts_a_pause_inside_one_already_charged(alice, card, now):
    # Given a pause from now to now + 60 s, charged to the period
    card_pause(card=card, acting_user=alice, now=now)
    card_unpause(card=card, acting_user=alice, now=now + timedelta(seconds=60))

    # When a pause request that read the time at now + 30 s goes ahead after it,
    # and is resumed at now + 90 s
    card_pause(card=card, acting_user=alice, now=now + timedelta(seconds=30))
    card_unpause(card=card, acting_user=alice, now=now + timedelta(seconds=90))

    # Then the second pause began when the first ended: 60 + 30 s charged, and the end
    # moved by as much, never twice for the same seconds
    period = card.periods.get()
    assert period.paused_seconds == 90
    assert period.ends_at == now + timedelta(days=10, seconds=90)
