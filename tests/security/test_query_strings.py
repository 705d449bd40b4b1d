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


FIELDS = ["q", "body", "subject", "message", "reason", "note", "name", "email", "login",
          "password", "password1", "password2", "oldpassword", "code", "iccid", "claim_code",
          "coupon", "coupon_code", "plan", "currency", "gateway", "language", "time_zone",
          "amount", "bytes", "days", "title", "title_en", "body_en", "audience", "starts_at",
          "ends_at", "percent_off", "amount_off", "max_uses", "data_gb", "validity_days",
          "price_usd", "file", "payment_method", "next", "confirm", "enabled", "mode"]


@pytest.mark.parametrize("value", ["a\x00b", "\x00"], ids=["nul-inside", "nul"])
def test_no_form_answers_nul_characters_with_a_500(world, frozen, value):
    """Every POST route of the site (read from the URLconf) with NUL in every field a form
    of simdesk uses: a message or a refusal, never a server error (PostgreSQL refuses NUL
    in text, so a value that reaches a query unchecked would be a 500 there)."""
    from .test_csrf import concrete, site_routes

    alice = Client(raise_request_exception=False)
    alice.force_login(world.alice)
    staff = sign_in_staff(Client(raise_request_exception=False), world.staff)
    routes = [(r, n, c) for r, n, c in site_routes()
              if not getattr(c, "csrf_exempt", False) and n != "account_logout"]
    routes.sort(key=lambda route: route[1] == "portal:account_delete")  # that one last
    failures = []
    for route, name, _callback in routes:
        client = staff if (name or "").startswith("backoffice:") else alice
        url = concrete(route, world.ids.get(name, {}))
        response = client.post(url, {field: value for field in FIELDS})
        if response.status_code >= 500:
            failures.append((name, response.status_code))
    assert failures == [], failures
