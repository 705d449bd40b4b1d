"""The support desk's world: alice and bob (customers), an agent (staff), alice's card
with a Europe plan on it, and a region and plans for announcement audiences."""

import itertools

import pytest

from simdesk.cards.iccid import iccid_with_check_digit
from simdesk.cards.models import Card
from simdesk.cards.services import period_create
from simdesk.catalog.models import PlanKind, Region, Stacking, ValidityStart
from simdesk.catalog.services import plan_upsert

GB = 10**9
_serial = itertools.count(1)


@pytest.fixture
def bob(make_user):
    """bob is another customer."""
    return make_user("bob@example.com")


@pytest.fixture
def agent(make_user):
    """A support agent: staff, with every permission (the admin needs them)."""
    return make_user("agent@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def make_card(db):
    def make(*, owner=None, **fields):
        card = Card(iccid=iccid_with_check_digit(f"894470030{next(_serial):09d}"), owner=owner,
                    **fields)
        card.set_claim_code("ABC123")
        card.save()
        return card

    return make


@pytest.fixture
def europe(db):
    """The Europe region: France and Germany."""
    return Region.objects.create(code="europe", countries=["DE", "FR"])


@pytest.fixture
def asia(db):
    return Region.objects.create(code="asia", countries=["JP", "TH"])


@pytest.fixture
def make_plan(db, now):
    def make(code, *, countries=(), region=None):
        return plan_upsert(
            code=code,
            terms={"kind": PlanKind.BASE, "data_bytes": 5 * GB, "validity_days": 30,
                   "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
                   "region": region},
            translations={"en": (f"Plan {code}", ""), "zh-hans": (f"套餐 {code}", "")},
            prices={"USD": 1200}, countries=countries, now=now)

    return make


@pytest.fixture
def france_plan(make_plan):
    """A plan that works in France only."""
    return make_plan("france-5gb", countries=("FR",))


@pytest.fixture
def japan_plan(make_plan):
    return make_plan("japan-5gb", countries=("JP",))


@pytest.fixture
def alice_card(alice, make_card, france_plan, now):
    """alice's card with the France plan active on it."""
    card = make_card(owner=alice, label="Travel phone")
    period_create(card=card, plan=france_plan, source="test:alice", now=now)
    card.refresh_from_db()
    return card


@pytest.fixture
def bob_card(bob, make_card, japan_plan, now):
    """bob's card with the Japan plan on it."""
    card = make_card(owner=bob)
    period_create(card=card, plan=japan_plan, source="test:bob", now=now)
    card.refresh_from_db()
    return card
