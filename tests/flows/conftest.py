"""The shop the journeys run in: a plan on sale in USD and EUR, alice with one card."""

import pytest

from simdesk.cards.iccid import iccid_with_check_digit
from simdesk.cards.models import Card
from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
from simdesk.catalog.services import plan_upsert
from simdesk.core.clock import utcnow

GB = 10**9
PASSWORD = "correct horse battery"


@pytest.fixture
def plan(db):
    """"Europe 5 GB", 30 days from purchase, 12.00 USD / 11.00 EUR."""
    return plan_upsert(
        code="europe-5gb-30d",
        terms={"kind": PlanKind.BASE, "data_bytes": 5 * GB, "validity_days": 30,
               "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
               "region": None},
        translations={"en": ("Europe 5 GB", "Data across Europe."),
                      "zh-hans": ("欧洲 5 GB", "欧洲流量。")},
        prices={"USD": 1200, "EUR": 1100}, countries=("FR", "DE"), now=utcnow(),
    )


@pytest.fixture
def card(db, alice):
    """alice owns one card with nothing on it."""
    card = Card(iccid=iccid_with_check_digit("894470030000000001"), owner=alice)
    card.set_claim_code("ABC123")
    card.save()
    return card


@pytest.fixture
def bob(make_user):
    return make_user("bob@example.com")
