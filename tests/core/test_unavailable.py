"""While the database cannot be reached, people and programs are told to come back: 503
with Retry-After, not a 500."""

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import path

import config.urls


def _database_gone(request, **kwargs):
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


def _bug(request, **kwargs):
    raise ValueError("a bug")


urlpatterns = [
    path("api/v1/outage", _database_gone),
    path("webhooks/outage/", _database_gone),
    path("outage", _database_gone),
    path("bug", _bug),
    *config.urls.urlpatterns,
]
handler500 = config.urls.handler500


@pytest.fixture
def client(settings):
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    return Client(raise_request_exception=False)


def test_a_page_says_it_is_back_in_a_moment(client):
    response = client.get("/outage", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 503
    assert response["Retry-After"] == "15"
    assert "<html lang=\"zh-hans\">" in response.content.decode()


@pytest.mark.parametrize("url", ["/api/v1/outage", "/webhooks/outage/"])
def test_the_api_and_webhooks_get_a_problem_document_to_retry(client, url):
    response = client.post(url, data=b"{}", content_type="application/json")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "15"
    assert response.json()["code"] == "unavailable"


def test_any_other_error_is_still_a_500(client):
    assert client.get("/bug").status_code == 500
