import pytest

from simdesk.catalog.models import Plan, PlanCountry, PlanPrice, PlanTranslation
from simdesk.catalog.services import plan_archive, plan_restore, plan_upsert, region_upsert
from simdesk.core.errors import ServiceError

GB = 10**9
TERMS = {"data_bytes": 3 * GB, "validity_days": 7}


@pytest.mark.django_db
class TestPlanUpsert:
    def test_it_creates_a_plan_with_its_names_prices_and_countries(self, now):
        plan = plan_upsert(code="japan", terms=TERMS, translations={"en": ("Japan", "")},
                           prices={"USD": 650, "JPY": 950}, countries=["jp"], now=now)
        assert plan.price_in("JPY").amount_minor == 950
        assert plan.coverage() == ["JP"]
        assert plan.name_for("en") == "Japan"

    def test_it_brings_an_existing_plan_to_exactly_the_new_values(self, now):
        plan_upsert(code="japan", terms=TERMS,
                    translations={"en": ("Japan", ""), "zh-hans": ("日本", "")},
                    prices={"USD": 650, "JPY": 950}, countries=["JP", "KR"], now=now)
        plan = plan_upsert(code="japan", terms={**TERMS, "validity_days": 10},
                           translations={"en": ("Japan 10 days", "")},
                           prices={"USD": 700}, countries=["JP"], now=now)
        plan.refresh_from_db()
        assert plan.validity_days == 10
        assert list(plan.prices.values_list("currency", "amount_minor")) == [("USD", 700)]
        assert list(plan.translations.values_list("language", flat=True)) == ["en"]
        assert plan.coverage() == ["JP"]
        assert Plan.objects.count() == 1

    def test_it_writes_nothing_when_a_rule_is_broken(self, now):
        with pytest.raises(ServiceError, match="fair-use cap"):
            plan_upsert(code="unlimited", terms={"data_bytes": None, "validity_days": 7},
                        translations={"en": ("U", "")}, prices={"USD": 100},
                        countries=["JP"], now=now)
        assert not Plan.objects.exists()

    def test_it_writes_nothing_when_a_price_or_country_is_wrong(self, now):
        with pytest.raises(ServiceError, match="ISO 4217"):
            plan_upsert(code="japan", terms=TERMS, translations={"en": ("J", "")},
                        prices={"USD": 100, "ABC": 5}, countries=["JP"], now=now)
        with pytest.raises(ServiceError, match="ISO 3166-1"):
            plan_upsert(code="japan", terms=TERMS, translations={"en": ("J", "")},
                        prices={"USD": 100}, countries=["JP", "XX"], now=now)
        assert not Plan.objects.exists()
        assert not PlanPrice.objects.exists()
        assert not PlanCountry.objects.exists()
        assert not PlanTranslation.objects.exists()

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"translations": {"zh-hans": ("日本", "")}}, "name in English"),
            ({"prices": {}}, "at least one price"),
            ({"countries": []}, "region or at least one country"),
        ],
    )
    def test_it_refuses_a_plan_missing_what_every_plan_needs(self, now, kwargs, message):
        values = {"translations": {"en": ("J", "")}, "prices": {"USD": 100},
                  "countries": ["JP"]}
        values.update(kwargs)
        with pytest.raises(ServiceError, match=message):
            plan_upsert(code="japan", terms=TERMS, now=now, **values)


@pytest.mark.django_db
def test_it_upserts_a_region_by_code(now):
    region_upsert(code="benelux", countries=["BE", "NL"], names={"en": "Benelux"}, now=now)
    region = region_upsert(code="benelux", countries=["BE", "NL", "LU"],
                           names={"en": "Benelux", "zh-hans": "比荷卢"}, now=now)
    assert region.countries == ["BE", "LU", "NL"]
    assert region.name_for("zh-hans") == "比荷卢"


@pytest.mark.django_db
def test_it_archives_and_restores_a_plan_and_both_are_safe_twice(make_plan, now):
    plan = make_plan()
    plan_archive(plan=plan, now=now)
    plan_archive(plan=plan, now=now)
    assert Plan.objects.get().status == "archived"
    plan_restore(plan=plan, now=now)
    plan_restore(plan=plan, now=now)
    assert Plan.objects.get().status == "active"
