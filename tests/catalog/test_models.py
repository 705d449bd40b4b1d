import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

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
from simdesk.core.money import Money

GB = 10**9


def plan(**fields):
    values = {"code": "p", "data_bytes": GB, "validity_days": 7}
    values.update(fields)
    return Plan(**values)


def errors_of(instance) -> dict:
    with pytest.raises(ValidationError) as caught:
        instance.full_clean()
    return caught.value.message_dict


@pytest.mark.django_db
class TestPlanRules:
    def test_it_accepts_a_plain_plan_with_an_allowance(self):
        plan().full_clean()

    def test_it_asks_an_unlimited_plan_for_its_fair_use_cap_and_throttle_speed(self):
        errors = errors_of(plan(data_bytes=None))
        assert "fair-use cap" in errors["fair_use_bytes"][0]
        assert "kbit/s" in errors["throttle_kbps"][0]

    def test_it_accepts_an_unlimited_plan_with_fair_use(self):
        plan(data_bytes=None, fair_use_bytes=20 * GB, throttle_kbps=512).full_clean()

    def test_it_refuses_a_fair_use_cap_on_a_plan_with_an_allowance(self):
        errors = errors_of(plan(fair_use_bytes=GB, throttle_kbps=512))
        assert "Only unlimited plans" in errors["fair_use_bytes"][0]
        assert "Only unlimited plans" in errors["throttle_kbps"][0]

    def test_it_refuses_a_zero_byte_allowance(self):
        assert "more than 0 bytes" in errors_of(plan(data_bytes=0))["data_bytes"][0]

    def test_it_refuses_zero_validity_days(self):
        assert "validity_days" in errors_of(plan(validity_days=0))

    def test_it_refuses_a_top_up_that_would_wait_in_the_queue(self):
        errors = errors_of(plan(kind=PlanKind.TOPUP, stacking=Stacking.QUEUE))
        assert "cannot wait in the queue" in errors["stacking"][0]

    @pytest.mark.parametrize("stacking", [Stacking.EXTEND, Stacking.PARALLEL])
    def test_it_accepts_top_ups_that_extend_or_run_in_parallel(self, stacking):
        plan(kind=PlanKind.TOPUP, stacking=stacking).full_clean()

    def test_it_refuses_extending_from_first_use(self):
        errors = errors_of(plan(stacking=Stacking.EXTEND,
                                validity_start=ValidityStart.ON_FIRST_USE))
        assert "on purchase" in errors["validity_start"][0]

    def test_it_asks_a_pausable_plan_for_how_long(self):
        assert "at least 1" in errors_of(plan(pausable=True))["max_pause_days"][0]

    def test_it_refuses_pause_days_on_a_plan_that_cannot_be_paused(self):
        assert "cannot be paused" in errors_of(plan(max_pause_days=3))["max_pause_days"][0]

    def test_it_refuses_a_code_that_is_not_a_slug(self):
        assert "code" in errors_of(plan(code="Japan 3GB!"))


@pytest.mark.django_db
class TestPlanReading:
    def test_it_names_a_plan_in_the_language_asked_then_in_english(self):
        p = plan()
        p.save()
        PlanTranslation.objects.create(plan=p, language="en", name="Japan 3 GB",
                                       description="A week")
        PlanTranslation.objects.create(plan=p, language="zh-hans", name="日本 3 GB",
                                       description="一周")
        assert p.name_for("zh-hans") == "日本 3 GB"
        assert p.name_for("zh_Hans") == "日本 3 GB"
        assert p.description_for("zh-hans") == "一周"
        assert p.name_for("fr") == "Japan 3 GB"
        assert p.description_for(None) == "A week"

    def test_it_falls_back_to_the_code_when_a_plan_has_no_name(self):
        p = plan(code="nameless")
        p.save()
        assert p.name_for("en") == "nameless"
        assert p.description_for("en") == ""

    def test_it_gives_the_price_in_a_currency_or_none(self):
        p = plan()
        p.save()
        PlanPrice.objects.create(plan=p, currency="JPY", amount_minor=950)
        assert p.price_in("JPY") == Money(950, "JPY")
        assert p.price_in("jpy") == Money(950, "JPY")
        assert p.price_in("USD") is None

    def test_it_covers_its_regions_countries_and_its_own(self):
        region = Region.objects.create(code="europe", countries=["DE", "FR"])
        p = plan(region=region)
        p.save()
        PlanCountry.objects.create(plan=p, country="CH")
        assert p.coverage() == ["CH", "DE", "FR"]
        assert p.covers("fr")
        assert not p.covers("JP")

    def test_it_knows_an_unlimited_plan(self):
        assert plan(data_bytes=None).is_unlimited
        assert not plan().is_unlimited

    def test_it_archives_and_restores_recording_when(self, now):
        p = plan()
        p.save()
        p.archive(at=now)
        p.refresh_from_db()
        assert (p.status, p.archived_at) == ("archived", now)
        p.restore()
        p.refresh_from_db()
        assert (p.status, p.archived_at) == ("active", None)


@pytest.mark.django_db
class TestPricesAndCoverageRows:
    def test_it_keeps_one_price_per_currency(self):
        p = plan()
        p.save()
        PlanPrice.objects.create(plan=p, currency="USD", amount_minor=100)
        with pytest.raises(IntegrityError):
            PlanPrice.objects.create(plan=p, currency="USD", amount_minor=200)

    def test_it_refuses_an_unknown_currency(self):
        price = PlanPrice(plan=plan(), currency="XYZ", amount_minor=100)
        errors = errors_of(price)
        assert "ISO 4217" in errors["currency"][0]

    def test_it_refuses_a_free_price(self):
        price = PlanPrice(plan=plan(), currency="USD", amount_minor=0)
        assert "amount_minor" in errors_of(price)

    def test_it_refuses_a_country_code_that_is_not_iso(self):
        row = PlanCountry(plan=plan(), country="EU")
        assert "ISO 3166-1" in errors_of(row)["country"][0]

    def test_it_refuses_a_region_with_unknown_countries_and_names_them(self):
        region = Region(code="nowhere", countries=["FR", "XX", "ZZ"])
        assert "XX, ZZ" in errors_of(region)["countries"][0]

    def test_it_tidies_a_regions_countries(self):
        region = Region(code="benelux", countries=["nl", "BE", " lu", "BE"])
        region.full_clean()
        assert region.countries == ["BE", "LU", "NL"]

    def test_it_refuses_an_empty_region(self):
        assert "at least one country" in errors_of(Region(code="empty", countries=[]))[
            "countries"][0]
