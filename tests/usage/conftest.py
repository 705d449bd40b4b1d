from datetime import timedelta

import pytest

from simdesk.cards.iccid import iccid_with_check_digit
from simdesk.cards.services import card_debit_usage, period_create
from tests.cards import conftest as cards_fixtures

GB = cards_fixtures.GB
# The cards tests' fixtures, shared here.
make_card = cards_fixtures.make_card
make_plan = cards_fixtures.make_plan


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
