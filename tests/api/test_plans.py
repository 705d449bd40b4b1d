"""The plans on sale over the API: public, filtered, prices in integer minor units."""

import pytest
from django.test import Client

GB = 1_000_000_000


@pytest.fixture
def plans(db, now):
    """Three plans: Japan (USD, EUR), France (USD only) and an archived one."""
    from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
    from simdesk.catalog.services import plan_upsert

    def upsert(code, country, prices):
        return plan_upsert(
            code=code,
            terms={"kind": PlanKind.BASE, "data_bytes": 3 * GB, "validity_days": 7,
                   "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
                   "region": None},
            translations={"en": (f"Plan {code}", f"About {code}")},
            prices=prices, countries=(country,), now=now)

    archived = upsert("old-plan", "JP", {"USD": 100})
    archived.archive(at=now)
    archived.save()
    return [upsert("japan", "JP", {"USD": 650, "EUR": 600}), upsert("france", "FR", {"USD": 500})]


def test_it_lists_the_plans_on_sale_without_credentials(plans):
    response = Client().get("/api/v1/plans")

    assert response.status_code == 200
    items = response.json()["items"]
    assert [plan["code"] for plan in items] == ["france", "japan"]
    assert items[1]["price"] == {"amount_minor": 650, "currency": "USD"}
    assert items[1]["data_bytes"] == 3 * GB
    assert items[1]["countries"] == ["JP"]


def test_it_filters_by_country_and_currency(plans):
    by_country = Client().get("/api/v1/plans", {"country": "jp"}).json()["items"]
    in_euros = Client().get("/api/v1/plans", {"currency": "EUR"}).json()["items"]

    assert [plan["code"] for plan in by_country] == ["japan"]
    assert [(plan["code"], plan["price"]["amount_minor"]) for plan in in_euros] == [
        ("japan", 600)]


def test_it_answers_400_for_a_currency_we_do_not_sell_in(plans):
    response = Client().get("/api/v1/plans", {"currency": "XXX"})

    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_currency"
    assert response.json()["errors"][0]["field"] == "currency"


def test_it_shows_one_plan_with_all_its_prices(plans):
    response = Client().get("/api/v1/plans/japan")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Plan japan"
    assert body["description"] == "About japan"
    assert body["prices"] == [{"amount_minor": 600, "currency": "EUR"},
                              {"amount_minor": 650, "currency": "USD"}]


def test_it_answers_404_for_an_archived_or_unknown_plan(plans):
    for code in ["old-plan", "nope"]:
        response = Client().get(f"/api/v1/plans/{code}")
        assert response.status_code == 404
        assert response.json()["code"] == "plan_not_found"
