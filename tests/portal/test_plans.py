"""Customers browse the plans on sale and read one plan's terms, over HTTP."""

import html as htmllib
import re

import pytest
from django.urls import reverse
from django.utils import translation

from simdesk.catalog.demo import demo_catalog_load
from simdesk.catalog.models import Plan


@pytest.fixture
def catalog(db, now):
    """The demo catalog: Japan, USA, UK, China, Thailand, Europe, Asia-Pacific, global plans."""
    return demo_catalog_load(now=now)


def plan_names(response) -> list[str]:
    html = response.content.decode()
    found = re.findall(r'<h3 class="plan-name"><a href="[^"]+">([^<]+)</a>', html)
    return [htmllib.unescape(name) for name in found]


def page(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
class TestPlansPage:
    def test_it_lists_every_plan_on_sale_in_the_default_currency(self, client, catalog):
        response = client.get(reverse("portal:plans"))
        html = page(response)
        names = plan_names(response)
        assert len(names) == Plan.objects.filter(status="active").count()
        assert "Japan 3 GB" in names
        assert "Japan 1 GB (retired)" not in names
        assert "$6.50" in html
        assert "Top-ups" in html

    def test_it_filters_by_country(self, client, catalog):
        names = plan_names(client.get(reverse("portal:plans"), {"country": "JP"}))
        assert "Japan 3 GB" in names and "Asia-Pacific 8 GB" in names
        assert "Global 3 GB" in names and "USA 5 GB" not in names

    def test_it_filters_by_region(self, client, catalog):
        names = plan_names(client.get(reverse("portal:plans"), {"region": "europe"}))
        assert "Europe 5 GB" in names and "Global 3 GB" in names
        assert "Japan 3 GB" not in names

    def test_it_filters_by_data_days_and_price(self, client, catalog):
        names = plan_names(client.get(reverse("portal:plans"), {
            "min_data": "5GB", "max_days": "15", "max_price": "12", "currency": "USD"}))
        # in the staff's sort order
        assert names == ["USA 5 GB", "China, Hong Kong & Macau 6 GB", "Europe 5 GB"]

    def test_it_shows_prices_in_the_currency_asked(self, client, catalog):
        html = page(client.get(reverse("portal:plans"), {"currency": "CNY"}))
        assert "CN¥45.00" in html
        assert "?currency=CNY" in html  # links to details keep the currency

    def test_it_prices_in_the_signed_in_customers_preferred_currency(
        self, client, catalog, make_user
    ):
        client.force_login(make_user("yen@example.com", currency="JPY"))
        html = page(client.get(reverse("portal:plans")))
        assert "¥950" in html
        assert "United Kingdom 2 GB" not in html  # not sold in JPY

    def test_it_explains_bad_filters_and_still_lists_plans(self, client, catalog):
        response = client.get(reverse("portal:plans"), {
            "country": "XX", "max_days": "lots", "max_price": "-3", "min_data": "7TB",
            "currency": "BTC"})
        html = page(response)
        assert "We have no plans for “XX”" in html
        assert "Enter a whole number." in html
        assert "Ensure this value is greater than or equal to 0." in html
        assert "“7TB” is not one of the data amounts offered" in html
        assert "We do not sell in “BTC”" in html
        assert len(plan_names(response)) == Plan.objects.filter(status="active").count()

    def test_it_refuses_more_decimals_than_the_currency_has(self, client, catalog):
        html = page(client.get(reverse("portal:plans"), {"currency": "JPY",
                                                         "max_price": "999.5"}))
        assert "Prices in JPY have at most 0 decimal places." in html

    def test_it_says_when_nothing_matches(self, client, catalog):
        html = page(client.get(reverse("portal:plans"), {"country": "JP", "max_price": "1"}))
        assert "No plan matches all of these filters" in html

    @pytest.mark.parametrize("query", [
        {"max_days": "9" * 400}, {"max_price": "NaN"}, {"max_price": "1e999"},
        {"region": "\x00"}, {"currency": ""},
    ])
    def test_it_never_fails_on_odd_input(self, client, catalog, query):
        assert client.get(reverse("portal:plans"), query).status_code == 200

    def test_it_shows_plans_in_chinese(self, client, catalog):
        # override() restores the language afterwards: the middleware's choice
        # would otherwise stay active in this thread for the tests that follow.
        with translation.override("en"):
            response = client.get(reverse("portal:plans"), HTTP_ACCEPT_LANGUAGE="zh-hans")
        names = plan_names(response)
        assert "日本 3 GB" in names and "Japan 3 GB" not in names

    def test_it_is_linked_from_the_header(self, client, catalog):
        assert f'href="{reverse("portal:plans")}"' in page(client.get(reverse("portal:home")))

    def test_it_reads_the_catalog_in_few_queries(
        self, client, catalog, django_assert_max_num_queries
    ):
        with django_assert_max_num_queries(14):
            client.get(reverse("portal:plans"), {"country": "FR"})


@pytest.mark.django_db
class TestPlanDetailPage:
    def test_it_states_the_terms_in_plain_words_and_the_price(self, client, catalog):
        html = page(client.get(reverse("portal:plan_detail", args=["thailand-unlimited-10d"]),
                               {"currency": "EUR"}))
        assert "Thailand unlimited" in html
        assert "Fair use: full speed up to 20 GB, then 512 kbit/s." in html
        assert "Valid for 10 days, counted from the first time the card connects" in html
        assert "You can pause it for up to 5 days" in html
        assert "€13.00" in html
        assert "Thailand" in html

    def test_it_lists_every_country_a_regional_plan_works_in(self, client, catalog):
        html = page(client.get(reverse("portal:plan_detail", args=["europe-5gb-15d"])))
        assert "Works in 32 countries" in html
        assert "Switzerland" in html and "Portugal" in html

    def test_it_says_when_a_plan_is_not_sold_in_the_currency(self, client, catalog):
        html = page(client.get(reverse("portal:plan_detail", args=["uk-2gb-7d"]),
                               {"currency": "JPY"}))
        assert "Not sold in JPY" in html
        assert "Also priced in" in html and "$5.00" in html

    def test_it_explains_an_unknown_currency_and_uses_the_default(self, client, catalog):
        html = page(client.get(reverse("portal:plan_detail", args=["uk-2gb-7d"]),
                               {"currency": "nope"}))
        assert "We do not sell in “nope”" in html
        assert "$5.00" in html

    def test_it_answers_404_for_an_unknown_plan(self, client, catalog):
        response = client.get(reverse("portal:plan_detail", args=["no-such-plan"]))
        assert response.status_code == 404

    def test_it_answers_404_for_an_archived_plan(self, client, catalog):
        response = client.get(reverse("portal:plan_detail", args=["japan-1gb-3d"]))
        assert response.status_code == 404


@pytest.mark.django_db
class TestCoverageLabel:
    def test_it_names_a_few_countries_with_the_languages_own_separators(self, catalog):
        from simdesk.portal.plans import coverage_label

        plan = Plan.objects.with_display_data().get(code="china-hk-6gb-15d")
        assert coverage_label(plan, "en") == "China, Hong Kong SAR China, and Macao SAR China"
        assert "、" in coverage_label(plan, "zh-hans")

    def test_it_names_the_region_of_a_regional_plan(self, catalog):
        from simdesk.portal.plans import coverage_label

        plan = Plan.objects.with_display_data().get(code="europe-5gb-15d")
        assert coverage_label(plan, "en") == "Europe"
        assert coverage_label(plan, "zh-hans") == "欧洲"
