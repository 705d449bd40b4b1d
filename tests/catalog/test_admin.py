"""Staff edit the catalog in the back office; broken plans are refused with the reason."""

import pytest
from django.urls import reverse

from simdesk.catalog.models import Plan, Region

GB = 10**9


@pytest.fixture
def staff_client(client, make_user):
    staff = make_user("staff@example.com", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def inline(prefix, rows, initial=0):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{i}-{key}"] = value
    return data


def plan_form(*, translations=None, prices=None, countries=None, **fields):
    data = {
        "code": "japan-3gb", "kind": "base", "status": "active", "sort_order": "0",
        "data_bytes": str(3 * GB), "fair_use_bytes": "", "throttle_kbps": "",
        "validity_days": "7", "validity_start": "on_first_use", "stacking": "queue",
        "renewable": "on", "max_pause_days": "0", "region": "",
    }
    data.update(fields)
    data.update(inline("translations", translations if translations is not None else [
        {"language": "en", "name": "Japan 3 GB", "description": "A week in Japan"}]))
    data.update(inline("prices", prices if prices is not None else [
        {"currency": "USD", "amount_minor": "650"}]))
    data.update(inline("countries", countries if countries is not None else [
        {"country": "jp"}]))
    return {k: v for k, v in data.items() if v is not None}


def errors_on_page(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
class TestPlanAdmin:
    url = staticmethod(lambda: reverse("admin:catalog_plan_add"))

    def test_it_saves_a_plan_with_its_inlines(self, staff_client):
        response = staff_client.post(self.url(), plan_form())
        assert response.status_code == 302, response.content.decode()[:3000]
        plan = Plan.objects.get(code="japan-3gb")
        assert plan.coverage() == ["JP"]
        assert plan.price_in("USD").amount_minor == 650

    def test_it_says_an_unlimited_plan_needs_a_fair_use_cap(self, staff_client):
        page = errors_on_page(staff_client.post(self.url(), plan_form(data_bytes="")))
        assert "An unlimited plan needs a fair-use cap" in page
        assert not Plan.objects.exists()

    def test_it_says_a_plan_needs_an_english_name(self, staff_client):
        page = errors_on_page(staff_client.post(self.url(), plan_form(translations=[
            {"language": "zh-hans", "name": "日本", "description": ""}])))
        assert "Give a name in English" in page
        assert not Plan.objects.exists()

    def test_it_says_an_active_plan_needs_a_price(self, staff_client):
        page = errors_on_page(staff_client.post(self.url(), plan_form(prices=[])))
        assert "An active plan needs at least one price" in page

    def test_it_says_where_a_plan_must_work(self, staff_client):
        page = errors_on_page(staff_client.post(self.url(), plan_form(countries=[])))
        assert "Say where the plan works" in page

    def test_it_accepts_a_region_instead_of_countries(self, staff_client, make_region):
        region = make_region("europe")
        response = staff_client.post(self.url(), plan_form(countries=[],
                                                           region=str(region.pk)))
        assert response.status_code == 302
        assert Plan.objects.get().coverage() == ["DE", "FR", "IT"]

    def test_it_refuses_a_country_that_is_not_iso(self, staff_client):
        page = errors_on_page(staff_client.post(self.url(), plan_form(countries=[
            {"country": "XX"}])))
        assert "is not an ISO 3166-1 country code" in page

    def test_it_archives_plans_with_an_action(self, staff_client, make_plan):
        plan = make_plan()
        response = staff_client.post(reverse("admin:catalog_plan_changelist"), {
            "action": "archive_plans", "_selected_action": [str(plan.pk)]})
        assert response.status_code == 302
        plan.refresh_from_db()
        assert plan.status == "archived" and plan.archived_at is not None

    def test_it_shows_a_plan_with_the_rules_staff_must_follow(self, staff_client, make_plan):
        plan = make_plan()
        response = staff_client.get(reverse("admin:catalog_plan_change", args=[plan.pk]))
        page = errors_on_page(response)
        assert "A top-up extends or runs in parallel, never queues." in page
        assert 'value="Plan japan-3gb-7d"' in page

    def test_it_lists_plans(self, staff_client, make_plan):
        make_plan(data_bytes=None, fair_use_bytes=GB, throttle_kbps=512)
        response = staff_client.get(reverse("admin:catalog_plan_changelist"))
        assert response.status_code == 200
        assert "unlimited" in response.content.decode()


@pytest.mark.django_db
class TestRegionAdmin:
    def form(self, countries):
        data = {"code": "benelux", "countries": countries}
        data.update(inline("translations", [{"language": "en", "name": "Benelux"}]))
        return data

    def test_it_takes_countries_as_plain_text(self, staff_client):
        response = staff_client.post(reverse("admin:catalog_region_add"),
                                     self.form("be, nl\nLU"))
        assert response.status_code == 302
        assert Region.objects.get().countries == ["BE", "LU", "NL"]

    def test_it_names_the_codes_it_does_not_know(self, staff_client):
        page = errors_on_page(staff_client.post(reverse("admin:catalog_region_add"),
                                                self.form("BE, QQ, XY")))
        assert "QQ, XY" in page
        assert not Region.objects.exists()

    def test_it_shows_an_existing_regions_countries_as_text(self, staff_client, make_region):
        region = make_region("benelux", countries=["BE", "NL"])
        page = staff_client.get(reverse("admin:catalog_region_change", args=[region.pk]))
        assert "BE, NL" in page.content.decode()
