"""Every page says what it may load (CSP, nothing inline) and production sends HSTS and
secure cookies.

The pages are every GET route of the portal, the account pages and the back office,
read from the URLconf and opened as the person they are for; each must carry the
policy without 'unsafe-inline', and its HTML must have no inline script, style or
event handler (which the policy would block anyway: a page that has one is broken).
"""

import re
import subprocess
import sys

import pytest
from django.test import Client
from django.urls import reverse

from simdesk.core.security import HEADER, csp_allow, policy_header

from .conftest import sign_in_staff, url_patterns

pytestmark = pytest.mark.django_db

INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>",
                re.I), "inline <script>"),
    (re.compile(r"<style[\s>]", re.I), "<style> block"),
    (re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I), "on… handler"),
    (re.compile(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", re.I), "javascript: URL"),
]

# GET routes that are not HTML pages, or need what a GET cannot give them.
NOT_PAGES = {
    "portal:your_data_download", "portal:orders_csv", "backoffice:orders_export",
    "backoffice:inventory_import_errors", "portal:renewal_off",
    "mfa_download_recovery_codes", "account_logout",
}


def inline_problems(html: str) -> list[str]:
    return [f"{what}: {m.group(0)[:80]}" for pattern, what in INLINE
            for m in pattern.finditer(html)]


def assert_strict_policy(response, label):
    policy = response.get(HEADER, "")
    assert policy, f"{label}: no {HEADER}"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, (label, policy)
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    if "html" in response.get("Content-Type", ""):
        assert inline_problems(response.content.decode()) == [], label


def pages(world):
    """(label, client kind, url) of every GET page of the portal, accounts and back office."""
    found = []
    for route, name, _callback in url_patterns():
        if not name or name in NOT_PAGES:
            continue
        namespace = name.split(":")[0] if ":" in name else ""
        if namespace == "portal":
            kwargs = world.ids.get(name, {})
            who = "alice"
        elif namespace == "backoffice":
            kwargs, who = world.ids.get(name, {}), "staff"
        elif route.startswith("accounts/"):
            kwargs, who = {}, "alice"
        else:
            continue
        if "<" in route and not kwargs:
            continue  # back-office object pages: their own tests; here the lists and forms
        found.append((name, who, reverse(name, kwargs=kwargs)))
    return found


def test_every_page_has_the_policy_and_nothing_inline(world, frozen):
    clients = {"alice": Client(), "staff": sign_in_staff(Client(), world.staff)}
    clients["alice"].force_login(world.alice)
    checked = 0
    for label, who, url in pages(world):
        response = clients[who].get(url)
        if response.status_code in (301, 302, 405):
            continue
        assert response.status_code in (200, 400, 404), (label, url, response.status_code)
        assert_strict_policy(response, label)
        checked += 1
    assert checked > 45


@pytest.mark.parametrize("url", ["/", "/plans/", "/accounts/login/", "/accounts/signup/",
                                 "/accounts/password/reset/", "/api/v1/docs", "/healthz",
                                 "/no-such-page/"])
def test_visitors_pages_errors_and_the_api_docs_have_it_too(client, url):
    assert_strict_policy(client.get(url), url)


def test_a_view_may_widen_the_policy_for_itself_only(rf):
    from django.http import HttpResponse

    from simdesk.core.security import ContentSecurityPolicyMiddleware

    @csp_allow(script_src=["https://js.example"], frame_src=lambda: ["https://frames.example"])
    def widened(request):
        return HttpResponse("ok")

    middleware = ContentSecurityPolicyMiddleware(widened)
    policy = middleware(rf.get("/"))[HEADER]

    assert "script-src 'self' https://js.example" in policy
    assert "frame-src 'self' https://frames.example" in policy
    assert "https://js.example" not in policy_header()


def test_checkout_may_send_the_payer_on_to_paypal_and_alipay_only(settings):
    settings.PAYMENT_GATEWAYS = ["sandbox", "paypal", "alipay"]
    settings.PAYPAL_ENVIRONMENT, settings.PAYPAL_API_BASE = "live", ""
    settings.ALIPAY_SANDBOX, settings.ALIPAY_API_BASE = False, ""

    assert ("form-action 'self' https://www.paypal.com https://openapi.alipay.com"
            in policy_header())
    settings.PAYMENT_GATEWAYS = ["sandbox"]
    assert policy_header().endswith("form-action 'self'")


PRODUCTION_PROBE = """
import django, json
django.setup()
from django.conf import settings
from django.test import Client
# An empty database: the probe answers 503, and its headers are what is looked at.
response = Client().get("/healthz", secure=True, HTTP_HOST="simdesk.example.com")
print(json.dumps({
    "hsts": response.get("Strict-Transport-Security", ""),
    "csp": response.get("Content-Security-Policy", ""),
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "session_httponly": settings.SESSION_COOKIE_HTTPONLY,
    "redirect": settings.SECURE_SSL_REDIRECT,
    "frame": response.get("X-Frame-Options", ""),
    "nosniff": response.get("X-Content-Type-Options", ""),
    "plain": Client().get("/plans/", HTTP_HOST="simdesk.example.com").status_code,
}))
"""


def test_production_sends_hsts_and_marks_cookies_secure(tmp_path):
    import json
    import os

    from tests.test_deploy import INHERITED_SETTINGS, PRODUCTION_ENV

    env = {**{k: v for k, v in os.environ.items() if k not in INHERITED_SETTINGS},
           **PRODUCTION_ENV, "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}"}
    result = subprocess.run([sys.executable, "-c", PRODUCTION_PROBE], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])

    assert seen["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert seen["session_secure"] and seen["csrf_secure"] and seen["session_httponly"]
    assert seen["redirect"] and seen["plain"] == 301  # plain HTTP goes to HTTPS
    assert seen["csp"] and "unsafe-inline" not in seen["csp"]
    assert seen["frame"] == "DENY" and seen["nosniff"] == "nosniff"


def test_only_the_stripe_pages_may_load_stripe_js(client, alice, settings, now):
    from simdesk.payments.models import Payment

    settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = "sk_test_x", "pk_test_x"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nobody answers: the page says so
    settings.PAYMENT_GATEWAYS = ["sandbox", "stripe"]
    payment = Payment.objects.create(customer=alice, gateway="stripe", amount_minor=999,
                                     currency="USD", reference="order:csp",
                                     idempotency_key="csp-1", gateway_payment_id="")
    client.force_login(alice)

    page = client.get(f"/payments/stripe/pay/{payment.public_id}")
    elsewhere = client.get("/cards/")

    assert page.status_code == 200
    assert_strict_policy(page, "stripe pay page")
    assert "script-src 'self' https://js.stripe.com" in page[HEADER]
    assert "frame-src 'self' https://js.stripe.com https://hooks.stripe.com" in page[HEADER]
    assert "connect-src 'self' http://127.0.0.1:9" in page[HEADER]
    assert "stripe.com" not in elsewhere[HEADER]
