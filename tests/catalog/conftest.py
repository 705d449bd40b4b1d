"""Small catalogs for the catalog tests, built through the catalog's own services."""

import pytest

from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
from simdesk.catalog.services import plan_upsert, region_upsert

GB = 10**9


@pytest.fixture
def make_region(db, now):
    def make(code="europe", countries=("FR", "DE", "IT"), names=None):
        return region_upsert(code=code, countries=countries,
                             names=names or {"en": code.title()}, now=now)

    return make


@pytest.fixture
def make_plan(db, now):
    def make(code="japan-3gb-7d", *, countries=("JP",), region=None, prices=None,
             names=None, **terms):
        defaults = {
            "kind": PlanKind.BASE,
            "data_bytes": 3 * GB,
            "validity_days": 7,
            "validity_start": ValidityStart.ON_FIRST_USE,
            "stacking": Stacking.QUEUE,
            "region": region,
        }
        defaults.update(terms)
        return plan_upsert(
            code=code,
            terms=defaults,
            translations=names or {"en": (f"Plan {code}", f"About {code}")},
            prices=prices or {"USD": 650, "EUR": 600},
            countries=countries,
            now=now,
        )

    return make
