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
