"""The API describes itself, and its docs page needs no outside host."""

import re

import pytest
from django.test import Client


@pytest.mark.django_db
def test_it_serves_the_openapi_document():
    response = Client().get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "simdesk API"
    assert document["info"]["version"] == "1"
    for path in ["/api/v1/me", "/api/v1/cards", "/api/v1/cards/{card_id}", "/api/v1/plans",
                 "/api/v1/tokens"]:
        assert path in document["paths"]


@pytest.mark.django_db
def test_it_serves_the_docs_page_from_its_own_static_files():
    response = Client().get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    references = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', html)
    assert any(ref.endswith("swagger-ui-bundle.js") for ref in references)
    assert all(ref.startswith("/static/") for ref in references), references
    assert "cdn" not in html.lower()
    assert not re.search(r"https?://", html.replace("http://www.w3.org", ""))


def test_it_ships_the_swagger_ui_files_with_the_static_files():
    from django.contrib.staticfiles import finders

    for name in ["ninja/swagger-ui-bundle.js", "ninja/swagger-ui.css", "ninja/swagger-ui-init.js"]:
        assert finders.find(name), name


@pytest.mark.django_db
def test_it_gives_every_schema_in_the_document_one_meaning():
    """Two schemas with one class name would silently replace each other."""
    from simdesk.api.customer.cards import CardPeriodOut

    document = Client().get("/api/v1/openapi.json").json()

    period = document["components"]["schemas"]["CardPeriodOut"]
    assert set(period["properties"]) == set(CardPeriodOut.model_fields)
