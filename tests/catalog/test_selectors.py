import pytest

from simdesk.catalog.models import PlanKind, Stacking
from simdesk.catalog.selectors import (
    covered_countries,
    plan_get_active,
    plans_list,
    regions_with_plans,
)
from simdesk.catalog.services import plan_archive
from simdesk.core.errors import NotFound

GB = 10**9


def codes(plans):
    return [plan.code for plan in plans]


@pytest.fixture
def catalog(make_region, make_plan):
    """Japan and Europe plans, a global plan, a CNY-less plan and an unlimited Thailand plan."""
    europe = make_region("europe", countries=["FR", "DE", "IT"])
    world = make_region("global", countries=["FR", "DE", "IT", "JP", "TH", "US"])
    make_plan("japan-3gb", countries=["JP"], data_bytes=3 * GB, validity_days=7,
              prices={"USD": 650, "CNY": 4500})
    make_plan("japan-10gb", countries=["JP"], data_bytes=10 * GB, validity_days=30,
              prices={"USD": 1700, "CNY": 11900})
    make_plan("europe-5gb", region=europe, countries=[], data_bytes=5 * GB,
              validity_days=15, prices={"USD": 1100, "CNY": 7900})
    make_plan("europe-plus-ch", region=europe, countries=["CH"], data_bytes=2 * GB,
              validity_days=7, prices={"USD": 900})
    make_plan("global-3gb", region=world, countries=[], data_bytes=3 * GB,
              validity_days=30, prices={"USD": 2200, "CNY": 15800})
    make_plan("thai-unlimited", countries=["TH"], data_bytes=None,
              fair_use_bytes=20 * GB, throttle_kbps=512, validity_days=10,
              prices={"USD": 1400, "CNY": 9900})
    make_plan("topup-1gb", kind=PlanKind.TOPUP, stacking=Stacking.PARALLEL,
              region=world, countries=[], data_bytes=1 * GB, validity_days=7,
              prices={"USD": 400, "CNY": 2900})


@pytest.mark.django_db
class TestPlansList:
    def test_it_lists_base_plans_first_then_cheapest_first(self, catalog):
        assert codes(plans_list(currency="USD")) == [
            "japan-3gb", "europe-plus-ch", "europe-5gb", "thai-unlimited", "japan-10gb",
            "global-3gb", "topup-1gb",
        ]

    def test_it_carries_the_price_in_the_currency_asked(self, catalog):
        plan = plans_list(currency="cny", country="JP")[0]
        assert plan.price_minor == 4500
        assert str(plan.price_in("CNY").currency) == "CNY"

    def test_it_leaves_out_plans_without_a_price_in_the_currency(self, catalog):
        assert "europe-plus-ch" not in codes(plans_list(currency="CNY"))
        assert codes(plans_list(currency="GBP")) == []

    def test_it_leaves_out_archived_plans(self, catalog, now):
        from simdesk.catalog.models import Plan

        plan_archive(plan=Plan.objects.get(code="japan-3gb"), now=now)
        assert "japan-3gb" not in codes(plans_list(currency="USD"))

    def test_it_finds_plans_for_a_country_through_their_region(self, catalog):
        assert codes(plans_list(currency="USD", country="FR")) == [
            "europe-plus-ch", "europe-5gb", "global-3gb", "topup-1gb"]

    def test_it_finds_plans_for_a_country_through_their_own_countries(self, catalog):
        assert codes(plans_list(currency="USD", country="ch")) == ["europe-plus-ch"]
        assert codes(plans_list(currency="USD", country="JP")) == [
            "japan-3gb", "japan-10gb", "global-3gb", "topup-1gb"]

    def test_it_finds_plans_that_cover_a_whole_region(self, catalog):
        assert codes(plans_list(currency="USD", region="europe")) == [
            "europe-plus-ch", "europe-5gb", "global-3gb", "topup-1gb"]
        assert codes(plans_list(currency="USD", region="global")) == [
            "global-3gb", "topup-1gb"]
        assert codes(plans_list(currency="USD", region="atlantis")) == []

    def test_it_counts_unlimited_plans_as_enough_data(self, catalog):
        assert codes(plans_list(currency="USD", min_data_bytes=10 * GB)) == [
            "thai-unlimited", "japan-10gb"]

    def test_it_filters_by_days_price_and_kind(self, catalog):
        assert codes(plans_list(currency="USD", max_days=7, kind=PlanKind.BASE)) == [
            "japan-3gb", "europe-plus-ch"]
        assert codes(plans_list(currency="USD", max_price_minor=900)) == [
            "japan-3gb", "europe-plus-ch", "topup-1gb"]
        assert codes(plans_list(currency="USD", kind=PlanKind.TOPUP)) == ["topup-1gb"]

    def test_it_reads_plans_with_their_names_prices_and_coverage_in_few_queries(
        self, catalog, django_assert_max_num_queries
    ):
        with django_assert_max_num_queries(6):
            plans = list(plans_list(currency="USD", country="FR"))
            shown = [(p.name_for("en"), p.price_in("USD"), p.coverage(),
                      p.region.name_for("en") if p.region else "") for p in plans]
        assert len(shown) == 4

    def test_it_needs_no_more_queries_for_more_plans(
        self, catalog, make_plan, django_assert_max_num_queries
    ):
        for n in range(10):
            make_plan(f"extra-{n}", countries=["JP", "KR"])
        with django_assert_max_num_queries(5):
            plans = list(plans_list(currency="USD"))
            for p in plans:
                p.name_for("zh-hans"), p.price_in("USD"), p.coverage()
        assert len(plans) == 17


@pytest.mark.django_db
class TestOtherSelectors:
    def test_it_gets_an_active_plan_by_code(self, catalog):
        assert plan_get_active(code="japan-3gb").code == "japan-3gb"

    def test_it_does_not_get_archived_or_unknown_plans(self, catalog, now):
        from simdesk.catalog.models import Plan

        plan_archive(plan=Plan.objects.get(code="japan-3gb"), now=now)
        with pytest.raises(NotFound):
            plan_get_active(code="japan-3gb")
        with pytest.raises(NotFound):
            plan_get_active(code="nope")

    def test_it_lists_countries_and_regions_that_have_plans_on_sale(self, catalog):
        assert covered_countries() == {"FR", "DE", "IT", "JP", "TH", "US", "CH"}
        assert [r.code for r in regions_with_plans()] == ["europe", "global"]
