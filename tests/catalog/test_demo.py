import pytest
from django.conf import settings

from simdesk.catalog.demo import demo_catalog_load
from simdesk.catalog.models import (
    Plan,
    PlanCountry,
    PlanKind,
    PlanPrice,
    PlanTranslation,
    Region,
    Stacking,
    ValidityStart,
)
from simdesk.catalog.selectors import plans_list


def counts():
    return [m.objects.count() for m in (Region, Plan, PlanTranslation, PlanPrice, PlanCountry)]


@pytest.mark.django_db
class TestDemoCatalog:
    def test_it_loads_the_same_rows_when_run_twice(self, now):
        demo_catalog_load(now=now)
        first = counts()
        demo_catalog_load(now=now)
        assert counts() == first
        assert first[1] >= 10

    def test_it_offers_a_varied_catalog(self, now):
        demo_catalog_load(now=now)
        plans = list(Plan.objects.active())
        assert len(plans) >= 10
        assert any(p.is_unlimited for p in plans)
        assert any(p.validity_days == 1 for p in plans)
        assert {p.kind for p in plans} == {PlanKind.BASE, PlanKind.TOPUP}
        assert {p.stacking for p in plans} == set(Stacking.values)
        assert {p.validity_start for p in plans} == set(ValidityStart.values)
        assert any(p.pausable for p in plans) and any(not p.renewable for p in plans)
        assert Plan.objects.filter(status="archived").exists()

    def test_it_names_every_plan_in_english_and_chinese_and_prices_it_in_three_currencies(
        self, now
    ):
        demo_catalog_load(now=now)
        for plan in Plan.objects.with_display_data():
            assert plan.name_for("en") != plan.name_for("zh-hans")
            assert plan.description_for("zh-hans")
            for currency in ("USD", "EUR", "CNY"):
                assert plan.price_in(currency) is not None, (plan.code, currency)

    def test_it_names_every_plan_and_region_in_every_language_offered(self, now):
        demo_catalog_load(now=now)
        languages = [code for code, _name in settings.LANGUAGES]
        for plan in Plan.objects.with_display_data():
            written = {row.language for row in plan.translations.all()}
            assert written == set(languages), plan.code
        for region in Region.objects.prefetch_related("translations"):
            written = {row.language for row in region.translations.all()}
            assert written == set(languages), region.code

    def test_it_passes_every_rule_the_back_office_enforces(self, now):
        demo_catalog_load(now=now)
        for plan in Plan.objects.all():
            plan.full_clean()
        for region in Region.objects.all():
            region.full_clean()

    def test_it_sells_plans_for_the_countries_travellers_ask_for(self, now):
        demo_catalog_load(now=now)
        for country in ("JP", "US", "GB", "CN", "HK", "TH", "FR"):
            assert plans_list(currency="USD", country=country).exists(), country
        assert plans_list(currency="USD", region="europe").exists()
