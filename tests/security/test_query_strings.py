"""Hostile query strings on every page never make a 500: NUL bytes (which PostgreSQL
refuses in text), over-long and non-UTF-8 values, wrong types for page numbers and
filters, repeated parameters. Every GET page of the portal and the back office and the
API's list operations are opened with them."""

import pytest
from django.test import Client

from .conftest import sign_in_staff
from .test_headers import pages

pytestmark = pytest.mark.django_db

NAMES = ["q", "page", "status", "gateway", "card", "period", "sort", "order", "from", "to",
         "since", "until", "limit", "offset", "cursor", "language", "kind", "role", "next",
         "range", "days", "plan", "region", "currency", "country", "type", "action", "user"]
VALUES = ["%00", "a%00b", "%FF%FE", "-1", "99999999999999999999999", "1e309", "x" * 3000,
          "%27%22%3C", "2026-13-45", "[]"]


def hostile_queries():
    for value in VALUES:
        yield "&".join(f"{name}={value}" for name in NAMES)
    yield "&".join(f"page={v}" for v in VALUES)  # the same parameter many times


def test_no_page_answers_a_hostile_query_with_a_500(world, frozen):
    alice = Client(raise_request_exception=False)
    alice.force_login(world.alice)
    staff = sign_in_staff(Client(raise_request_exception=False), world.staff)
    clients = {"alice": alice, "staff": staff}
    failures = []
    for label, who, url in pages(world):
        for query in hostile_queries():
            response = clients[who].get(f"{url}?{query}")
            if response.status_code >= 500:
                failures.append((label, query[:40], response.status_code))
    assert failures == [], "\n".join(map(str, failures))


def test_no_api_list_answers_a_hostile_query_with_a_500(world, now):
    from simdesk.accounts.tokens import token_create

    _token, plaintext = token_create(user=world.alice, name="q", now=now)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}", raise_request_exception=False)
    card = world.ids["portal:card_detail"]["public_id"]
    failures = []
    for path in ["/api/v1/cards", "/api/v1/orders", "/api/v1/plans", "/api/v1/tokens",
                 f"/api/v1/cards/{card}/usage", f"/api/v1/cards/{card}/periods"]:
        for query in hostile_queries():
            response = api.get(f"{path}?{query}")
            if response.status_code >= 500:
                failures.append((path, query[:40], response.status_code))
            elif response.status_code >= 400:
                assert response["Content-Type"].startswith("application/problem+json")
    assert failures == [], "\n".join(map(str, failures))
