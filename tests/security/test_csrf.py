"""Every form needs its CSRF token: a POST without it is 403 on every route of the site.

The routes are read from the URLconf (so a new form is covered the moment it exists).
The only views exempt from Django's check are the API's (which checks the token itself
for a browser session and needs none for a bearer token: tests/api/test_access_matrix.py)
and the gateways' webhooks (signed by the gateway: tests/payments/test_webhooks.py and
each gateway's own tests).
"""

import re
import uuid

import pytest
from django.test import Client

from .conftest import sign_in_staff, url_patterns

pytestmark = pytest.mark.django_db

EXEMPT_BY_DESIGN = {"payments-webhook"}


def concrete(route: str, ids: dict) -> str:
    """The route with its parameters filled: alice's objects where known, else any value."""
    def fill(match):
        converter, name = match.group(1) or "str", match.group(2)
        if name in ids:
            return str(ids[name])
        return {"uuid": str(uuid.uuid4()), "slug": "sandbox", "path": "evt_1"}.get(converter, "x")

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)


def site_routes():
    for route, name, callback in url_patterns():
        if route.startswith(("admin/", "api/v1/")):
            continue
        yield route, name, callback


def test_only_the_webhooks_are_exempt_outside_the_api():
    exempt = {name for _route, name, callback in site_routes()
              if getattr(callback, "csrf_exempt", False)}

    assert exempt == EXEMPT_BY_DESIGN


def test_a_post_without_the_token_is_403_on_every_route(world, frozen):
    alice = Client(enforce_csrf_checks=True)
    alice.force_login(world.alice)
    staff = sign_in_staff(Client(enforce_csrf_checks=True), world.staff)
    visitor = Client(enforce_csrf_checks=True)
    checked = []
    for route, name, callback in site_routes():
        if getattr(callback, "csrf_exempt", False):
            continue
        url = concrete(route, world.ids.get(name, {}))
        for who, client in (("visitor", visitor), ("alice", alice), ("staff", staff)):
            response = client.post(url, {"next": "/", "body": "x", "language": "en"})
            assert response.status_code == 403, (name, who, url, response.status_code)
            assert b"This form has expired" in response.content, (name, who)
        checked.append(name)

    assert len(checked) > 100


def test_with_the_token_the_same_post_gets_past_the_check(world, frozen):
    """The 403s above are the CSRF check's, not some other refusal."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    client.get("/support/new/")
    token = client.cookies["csrftoken"].value

    response = client.post("/language/", {"language": "en", "next": "/",
                                          "csrfmiddlewaretoken": token})

    assert response.status_code == 302


def test_the_refusal_is_a_page_of_the_site_in_the_visitors_language(alice):
    from .test_headers import assert_strict_policy

    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="zh-hans")
    response = client.post("/accounts/login/", {"login": alice.email, "password": "x"})

    assert response.status_code == 403
    assert_strict_policy(response, "csrf failure")
    assert '<html lang="zh-hans"' in response.content.decode()
