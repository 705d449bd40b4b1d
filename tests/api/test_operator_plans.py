"""Operator plan management with scope catalog:write: create, update, list, retire."""

import pytest
from django.test import Client

from simdesk.catalog.models import Plan, PlanStatus

pytestmark = pytest.mark.django_db

GB = 1_000_000_000


@pytest.fixture
def catalog(world):
    """A client with an operator key holding only catalog:write."""
    return Client(HTTP_AUTHORIZATION=f"Bearer {world.scoped_tokens['catalog:write']}")


def plan_body(**changes):
    body = {
        "data_bytes": 10 * GB, "validity_days": 30, "countries": ["FR", "DE"],
        "translations": [{"language": "en", "name": "Europe 10 GB", "description": "Ten"},
                         {"language": "zh-hans", "name": "欧洲 10 GB"}],
        "prices": [{"currency": "USD", "amount_minor": 1500},
                   {"currency": "EUR", "amount_minor": 1400}],
    }
    body.update(changes)
    return body


def put(client, code, body):
    return client.put(f"/api/v1/operator/plans/{code}", body, content_type="application/json")


def test_it_creates_a_plan_with_its_prices_and_names(catalog, at_now):
    response = put(catalog, "europe-10gb", plan_body())

    assert response.status_code == 201
    data = response.json()
    assert (data["code"], data["status"], data["data_bytes"]) == ("europe-10gb", "active",
                                                                  10 * GB)
    assert data["prices"] == [{"currency": "EUR", "amount_minor": 1400},
                              {"currency": "USD", "amount_minor": 1500}]
    assert [t["language"] for t in data["translations"]] == ["en", "zh-hans"]
    assert data["countries"] == ["DE", "FR"]
    plan = Plan.objects.get(code="europe-10gb")
    assert plan.price_in("USD").amount_minor == 1500
    assert plan.name_for("zh-hans") == "欧洲 10 GB"
    # and it is on sale at once
    assert Client().get("/api/v1/plans/europe-10gb?currency=USD").json()["price"] == {
        "amount_minor": 1500, "currency": "USD"}


def test_it_brings_an_existing_plan_to_exactly_the_terms_sent(catalog, at_now):
    put(catalog, "europe-10gb", plan_body())

    response = put(catalog, "europe-10gb", plan_body(
        validity_days=15, prices=[{"currency": "USD", "amount_minor": 999}],
        translations=[{"language": "en", "name": "Europe 10 GB / 15 days"}]))

    assert response.status_code == 200
    data = response.json()
    assert data["validity_days"] == 15
    assert data["prices"] == [{"currency": "USD", "amount_minor": 999}]
    assert [t["name"] for t in data["translations"]] == ["Europe 10 GB / 15 days"]
    assert Plan.objects.filter(code="europe-10gb").count() == 1


def test_it_keeps_what_customers_bought_when_a_plan_changes(catalog, world, alice_card,
                                                            at_now):
    period = alice_card.periods.get()
    put(catalog, world.plan.code, plan_body(data_bytes=GB, validity_days=1))

    period.refresh_from_db()
    assert period.total_bytes == 3 * GB
    assert period.validity_days == 7


@pytest.mark.parametrize("change, field", [
    ({"data_bytes": None}, "fair_use_bytes"),
    ({"kind": "topup"}, "stacking"),
    ({"translations": [{"language": "zh-hans", "name": "只有中文"}]}, "translations"),
    ({"translations": [{"language": "en", "name": "A"}, {"language": "en", "name": "B"}]},
     "translations"),
    ({"translations": [{"language": "en", "name": "A"}, {"language": "xx", "name": "B"}]},
     "translations"),
    ({"prices": [{"currency": "ZZZ", "amount_minor": 100}]}, "prices.ZZZ.currency"),
    ({"prices": []}, "prices"),
    ({"prices": [{"currency": "USD", "amount_minor": 0}]}, "prices.0.amount_minor"),
    ({"countries": ["XX"]}, "countries"),
    ({"countries": [], "region": None}, "countries"),
    ({"region": "atlantis"}, "region"),
    ({"validity_days": 0}, "validity_days"),
])
def test_it_refuses_an_invalid_plan_naming_the_field(catalog, change, field, at_now):
    response = put(catalog, "europe-10gb", plan_body(**change))

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]
    assert not Plan.objects.filter(code="europe-10gb").exists()


def test_it_refuses_an_invalid_change_and_keeps_the_plan_as_it_was(catalog, at_now):
    put(catalog, "europe-10gb", plan_body())

    response = put(catalog, "europe-10gb", plan_body(
        validity_days=99, prices=[{"currency": "USD", "amount_minor": 5}],
        countries=["XX"]))

    assert response.status_code == 400
    plan = Plan.objects.get(code="europe-10gb")
    assert plan.validity_days == 30
    assert plan.price_in("USD").amount_minor == 1500


def test_it_retires_and_restores_a_plan(catalog, world, at_now):
    code = world.plan.code

    retired = catalog.post(f"/api/v1/operator/plans/{code}/retire")
    again = catalog.post(f"/api/v1/operator/plans/{code}/retire")

    assert retired.status_code == again.status_code == 200
    assert retired.json()["status"] == "archived"
    assert again.json()["archived_at"] == retired.json()["archived_at"]
    assert Client().get(f"/api/v1/plans/{code}").status_code == 404
    assert catalog.get(f"/api/v1/operator/plans/{code}").json()["status"] == "archived"

    restored = catalog.post(f"/api/v1/operator/plans/{code}/restore")

    assert restored.json()["status"] == PlanStatus.ACTIVE
    assert Client().get(f"/api/v1/plans/{code}").status_code == 200


def test_it_lists_every_plan_with_a_status_filter(catalog, world, at_now):
    put(catalog, "europe-10gb", plan_body())
    catalog.post(f"/api/v1/operator/plans/{world.plan.code}/retire")

    every = catalog.get("/api/v1/operator/plans").json()["items"]
    archived = catalog.get("/api/v1/operator/plans?status=archived").json()["items"]

    assert [plan["code"] for plan in every] == ["europe-10gb", world.plan.code]
    assert [plan["code"] for plan in archived] == [world.plan.code]


def test_it_answers_404_for_an_unknown_plan(catalog, at_now):
    assert catalog.get("/api/v1/operator/plans/nope").status_code == 404
    assert catalog.post("/api/v1/operator/plans/nope/retire").json()["code"] == "plan_not_found"
