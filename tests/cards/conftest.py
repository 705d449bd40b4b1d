import itertools

import pytest

from simdesk.cards.iccid import iccid_with_check_digit
from simdesk.cards.models import Card
from simdesk.catalog.models import Plan, PlanKind, Stacking, ValidityStart

GB = 1_000_000_000
MB = 1_000_000

_serial = itertools.count(1)


def new_iccid() -> str:
    return iccid_with_check_digit(f"894450010{next(_serial):09d}")


@pytest.fixture
def make_plan(db):
    def make(code=None, *, data_bytes=GB, days=30, stacking=Stacking.QUEUE,
             validity_start=ValidityStart.ON_PURCHASE, kind=PlanKind.BASE, fair_use_bytes=None,
             throttle_kbps=None):
        plan = Plan(code=code or f"plan-{next(_serial)}", kind=kind, data_bytes=data_bytes,
                    fair_use_bytes=fair_use_bytes, throttle_kbps=throttle_kbps,
                    validity_days=days, validity_start=validity_start, stacking=stacking)
        plan.full_clean()
        plan.save()
        plan.translations.create(language="en", name=f"{plan.code} (en)")
        return plan

    return make


@pytest.fixture
def make_card(db):
    def make(*, owner=None, claim_code="ABC123", **fields):
        card = Card(iccid=fields.pop("iccid", None) or new_iccid(), owner=owner, **fields)
        card.set_claim_code(claim_code)
        card.save()
        return card

    return make


@pytest.fixture
def card(make_card, alice):
    """alice owns one card with no periods yet."""
    return make_card(owner=alice)
