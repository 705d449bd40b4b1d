"""No parameter sends a visitor to another site: ``next`` on sign-in, sign-out, sign-up,
the language switch and an announcement's dismiss button, and the return address each
gateway's pages send the customer back to (sandbox, Stripe, PayPal, Alipay)."""

import re
from urllib.parse import urlsplit

import pytest

from simdesk.core.errors import ServiceError

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"

EVIL = [
    "//evil.example",
    "//evil.example/",
    "https://evil.example",
    "https://evil.example/accounts/login/",
    "http://evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "///evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "%2F%2Fevil.example",
    "/%2F%2Fevil.example",
    "%5C%5Cevil.example",
    "https://testserver@evil.example",
    "//evil.example%2F@testserver",
    "/\t/evil.example",
    "data:text/html,<script>alert(1)</script>",
]


def as_a_browser_reads_it(location: str):
    """Backslashes are slashes, tabs and newlines dropped, leading blanks ignored."""
    return urlsplit(re.sub(r"[\t\r\n]", "", location).replace("\\", "/").strip())


def assert_stays_here(response, label):
    """The Location has no other host and no script scheme."""
    if response.status_code not in (301, 302, 303, 307, 308):
        return
    parts = as_a_browser_reads_it(response["Location"])
    assert parts.scheme in ("", "http", "https"), (label, response["Location"])
    assert parts.netloc in ("", "testserver"), (label, response["Location"])


@pytest.mark.parametrize("target", EVIL)
def test_sign_in_goes_home_instead(client, alice, target):
    response = client.post(f"/accounts/login/?next={target}",
                           {"login": alice.email, "password": PASSWORD, "next": target})

    assert response.status_code == 302
    assert_stays_here(response, target)


@pytest.mark.parametrize("target", EVIL)
def test_sign_out_goes_home_instead(client, alice, target):
    client.force_login(alice)

    response = client.post("/accounts/logout/", {"next": target})

    assert response.status_code == 302
    assert_stays_here(response, target)


@pytest.mark.parametrize("target", EVIL)
def test_the_language_switch_goes_home_instead(client, alice, target):
    client.force_login(alice)

    for response in (client.post("/language/", {"language": "en", "next": target}),
                     client.post("/language/", {"language": "en"}, HTTP_REFERER=target)):
        assert response.status_code == 302
        assert_stays_here(response, target)


@pytest.mark.parametrize("target", EVIL)
def test_dismissing_an_announcement_goes_home_instead(client, alice, target):
    """(One that is over, or never was, sends the customer back alike.)"""
    client.force_login(alice)

    response = client.post("/announcements/00000000-0000-4000-8000-000000000000/dismiss/",
                           {"next": target})

    assert response.status_code == 302
    assert_stays_here(response, target)


@pytest.mark.parametrize("target", EVIL[:6])
def test_sign_up_never_sends_the_new_customer_away(client, db, target):
    response = client.post(f"/accounts/signup/?next={target}",
                           {"email": "new@example.com", "password1": "a long pass phrase 42",
                            "password2": "a long pass phrase 42", "next": target})

    assert response.status_code == 302
    assert_stays_here(response, target)


@pytest.mark.parametrize("target", EVIL)
def test_a_gateway_will_not_return_the_customer_to_another_site(target, settings):
    """Every vendor (sandbox, Stripe, PayPal, Alipay) checks the return address with this
    one function when a payment starts."""
    from simdesk.payments.gateways.base import checked_return_url

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.SITE_URL = "http://testserver"
    try:
        checked_return_url(target)
    except ServiceError as error:
        assert error.code == "invalid_return_url"
    else:  # accepted only if a browser reads it as a place on this site
        parts = as_a_browser_reads_it(target)
        assert parts.scheme in ("", "http", "https"), target
        assert parts.netloc in ("", "testserver"), target


def test_the_sandbox_pay_page_refuses_an_order_with_a_return_address_elsewhere(
        alice_card, plan, now, alice):
    from simdesk.orders.services import order_create, order_pay

    order = order_create(customer=alice, card=alice_card, plan=plan, currency="USD",
                         coupon_code="", idempotency_key="redirect-1", now=now, language="en")
    with pytest.raises(ServiceError) as refused:
        order_pay(order=order, gateway="sandbox", return_url="https://evil.example/x", now=now)

    assert refused.value.code == "invalid_return_url"


@pytest.mark.parametrize("target", ["x", "home", "healthz", "a\x00b", "portal:cards"])
def test_a_next_that_is_not_an_address_is_not_looked_up_as_a_view(client, alice, target):
    """The dismiss button's ``next`` was passed to redirect(), which takes a bare word for
    a view's name: "x" was a server error, "healthz" a redirect to the health probe."""
    client.force_login(alice)

    response = client.post("/announcements/00000000-0000-4000-8000-000000000000/dismiss/",
                           {"next": target})

    assert response.status_code == 302
    assert response["Location"] == "/"
