import pytest

from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
from simdesk.catalog.selectors import plan_terms

GB = 10**9


@pytest.mark.django_db
class TestPlanTerms:
    def test_it_states_a_plain_plans_terms_in_plain_words(self, make_plan):
        plan = make_plan(data_bytes=3 * GB, validity_days=7,
                         validity_start=ValidityStart.ON_FIRST_USE, stacking=Stacking.QUEUE,
                         renewable=True, pausable=False)
        assert plan_terms(plan=plan, language="en") == [
            "3 GB of data at full speed.",
            "Valid for 7 days, counted from the first time the card connects to a network.",
            "If your card still has a plan running, this one waits and starts when the "
            "current one is used up or ends.",
            "It can renew automatically, if you switch auto-renewal on.",
            "It cannot be paused.",
        ]

    def test_it_uses_the_singular_for_one_day(self, make_plan):
        plan = make_plan(validity_days=1, validity_start=ValidityStart.ON_PURCHASE,
                         pausable=True, max_pause_days=1)
        terms = plan_terms(plan=plan, language="en")
        assert "Valid for 1 day, counted from the moment you buy it." in terms
        assert ("You can pause it for up to 1 day; the paused time is added to its end."
                in terms)

    def test_it_states_fair_use_for_an_unlimited_plan(self, make_plan):
        plan = make_plan(data_bytes=None, fair_use_bytes=20 * GB, throttle_kbps=512)
        terms = plan_terms(plan=plan, language="en")
        assert terms[:2] == ["Unlimited data.",
                             "Fair use: full speed up to 20 GB, then 512 kbit/s."]

    def test_it_explains_a_top_up_that_extends(self, make_plan):
        plan = make_plan(kind=PlanKind.TOPUP, stacking=Stacking.EXTEND, validity_days=7,
                         validity_start=ValidityStart.ON_PURCHASE, renewable=False,
                         pausable=True, max_pause_days=10)
        terms = plan_terms(plan=plan, language="en")
        assert "A top-up: it adds data to a card that already has a plan." in terms
        assert ("If your card has a plan running, this adds its data to it and moves its "
                "end 7 days later (from today, if that is later)." in terms)
        assert "It does not renew automatically; buy it again when you need it." in terms
        assert ("You can pause it for up to 10 days; the paused time is added to its end."
                in terms)

    def test_it_explains_a_parallel_plan(self, make_plan):
        plan = make_plan(stacking=Stacking.PARALLEL)
        assert ("It runs alongside any plan already on your card; data is used from the "
                "plan that ends first." in plan_terms(plan=plan, language="en"))

    def test_it_gives_terms_in_any_language_without_failing(self, make_plan):
        plan = make_plan(data_bytes=1_500_000_000)
        terms = plan_terms(plan=plan, language="zh-hans")
        assert len(terms) == 5
        assert "1.5 GB" in terms[0]
