"""The Content-Security-Policy in Chromium: pages work under it and break none of its
rules (the browser reports every refused script, style or frame as a violation)."""

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def paid_order(alice, now, django_capture_on_commit_callbacks):
    from simdesk.cards.iccid import iccid_with_check_digit
    from simdesk.cards.models import Card
    from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
    from simdesk.catalog.services import plan_upsert
    from simdesk.orders.services import order_create
    from tests.api.conftest import GB  # noqa: F401
    from tests.orders.refund_fixtures import pay_on_sandbox

    plan = plan_upsert(code="csp-plan", terms={
        "kind": PlanKind.BASE, "data_bytes": 10**9, "validity_days": 7,
        "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
        "region": None}, translations={"en": ("CSP plan", "")}, prices={"USD": 500},
        countries=("FR",), now=now)
    card = Card(iccid=iccid_with_check_digit("894470090000000001"), owner=alice, claimed_at=now)
    card.set_claim_code("CSP123")
    card.save()
    order = order_create(customer=alice, card=card, plan=plan, currency="USD", coupon_code="",
                         idempotency_key="csp-1", now=now, language="en")
    return pay_on_sandbox(order, now=now, capture=django_capture_on_commit_callbacks)


def test_pages_run_under_the_policy_without_a_violation(browser, live_server, alice,
                                                        paid_order):
    client = Client()
    client.force_login(alice)
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])
    context.add_init_script(WATCH)
    page = context.new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    receipt = reverse("portal:order_receipt", kwargs={"public_id": paid_order.public_id})
    urls = ["/", "/plans/", "/cards/", f"/cards/{paid_order.card.public_id}/", "/orders/",
            receipt, "/support/new/", "/settings/", "/api/v1/docs"]
    seen = {}
    for url in urls:
        response = page.goto(live_server.url + url)
        assert "default-src 'self'" in response.headers["content-security-policy"], url
        if url == "/api/v1/docs":
            page.wait_for_selector(".swagger-ui .info", timeout=15_000)
        if url == receipt:  # its Print button is shown by its own static script
            assert page.get_by_role("button", name="Print").is_visible()
        seen[url] = page.evaluate("window.cspViolations")
    context.close()

    assert {url: v for url, v in seen.items() if v} == {}
    assert [text for text in console if "Content Security Policy" in text] == []


def test_the_sandbox_pay_page_and_the_back_office_run_under_it_too(browser, live_server, alice,
                                                                   make_user, paid_order, now):
    import time

    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from simdesk.accounts.roles import StaffRole, staff_role_set
    from simdesk.orders.services import order_create, order_pay

    unpaid = order_create(customer=alice, card=paid_order.card, plan=paid_order.plan,
                          currency="USD", coupon_code="", idempotency_key="csp-2", now=now,
                          language="en")
    pay_url = order_pay(order=unpaid, gateway="sandbox", return_url="/orders/",
                        now=now)
    staff = make_user("root@staff.example", is_staff=True, is_superuser=True)
    staff_role_set(user=staff, roles={StaffRole.SUPPORT_AGENT, StaffRole.BILLING_ADMIN},
                   acting_user=None, now=now)
    TOTP.activate(staff, generate_totp_secret())
    seen = {}
    for who, urls in ((alice, [pay_url]),
                      (staff, ["/staff/", "/staff/?q=alice", "/staff/dashboard/", "/staff/plans/",
                               f"/staff/cards/{paid_order.card.public_id}/",
                               "/staff/payments/", "/staff/tickets/"])):
        client = Client()
        client.force_login(who)
        if who.is_staff:
            session = client.session
            session["account_authentication_methods"] = [
                {"method": "password", "at": time.time(), "email": who.email},
                {"method": "mfa", "at": time.time(), "type": "totp"}]
            session.save()
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": live_server.url}])
        context.add_init_script(WATCH)
        page = context.new_page()
        for url in urls:
            response = page.goto(url if url.startswith("http") else live_server.url + url)
            assert response.status == 200, url
            seen[url] = page.evaluate("window.cspViolations")
        context.close()

    assert {url: v for url, v in seen.items() if v} == {}
