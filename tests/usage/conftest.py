from datetime import timedelta

import pytest

from simdesk.cards.iccid import iccid_with_check_digit
from simdesk.cards.services import card_debit_usage, period_create
from simdesk.usage import rating
from simdesk.usage.models import RatingCursor
from simdesk.usage.services import UsageRecord
from tests.cards import conftest as cards_fixtures

GB = cards_fixtures.GB
MB = cards_fixtures.MB
# The cards tests' fixtures, shared here.
make_card = cards_fixtures.make_card
make_plan = cards_fixtures.make_plan


def rec(record_id, card, mb, at, *, up=0):
    """A usage record of ``mb`` MB (``up`` of them uploaded) by ``card`` ending at ``at``."""
    return UsageRecord(record_id=record_id, card_id=card.pk, bytes_up=up * MB,
                       bytes_down=mb * MB - up * MB, started_at=at - timedelta(minutes=5),
                       ended_at=at)


def rated_through() -> int:
    """The id of the last record rated (0: none yet)."""
    return RatingCursor.objects.filter(pk=1).values_list("through", flat=True).first() or 0


@pytest.fixture
def chunk(monkeypatch):
    """Call with ``n``: rating runs take at most ``n`` records each in this test."""
    return lambda n: monkeypatch.setattr(rating, "CHUNK", n)


@pytest.fixture
def card_with_500mb(make_card, make_plan, alice, now):
    """alice has a card with a 500 MB period active since ``now``."""
    card = make_card(owner=alice)
    period = period_create(card=card, plan=make_plan(data_bytes=500 * MB), source="o1", now=now)
    return card, period


@pytest.fixture
def japan_card(make_card, make_plan, alice, now):
    """alice has card …, with Japan 10 GB (30 days) active since ``now``."""
    plan = make_plan("japan-10gb", data_bytes=10 * GB, days=30)
    plan.translations.filter(language="en").update(name="Japan 10 GB")
    card = make_card(owner=alice, iccid=iccid_with_check_digit("894450010219830011"))
    period_create(card=card, plan=plan, source="order:japan", now=now)
    card.refresh_from_db()
    return card


@pytest.fixture
def use(now):
    """Debit ``gb`` GB of usage from ``card`` at ``at`` (default ``now``)."""
    counter = iter(range(1, 10_000))

    def debit(card, gb, *, at=None, bytes=None):
        at = at or now
        card_debit_usage(card=card, bytes=bytes if bytes is not None else int(gb * GB),
                         reference=f"usage:test:{next(counter)}", at=at, now=at)
        card.refresh_from_db()

    return debit


def days(n: float) -> timedelta:
    return timedelta(days=n)
