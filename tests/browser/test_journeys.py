"""The whole life of a customer and her card, in a real browser, in English and in Chinese, on a
phone and on a desktop screen, with an accessibility check (axe-core) on every page she and the
staff member see:

sign up → type the code from the e-mail → claim a card → buy a plan → pay on the sandbox
(keeping the card for renewals) → usage arrives from the operator's API → the low-data e-mail
and the portal's notice → auto-renewal on with the kept card → it falls due, the renewal sweep
buys the next plan, the card's page shows it → auto-renewal off → pause the card → ask support;
then a staff member (password + TOTP) finds the card in the back office, refunds the renewal's
order from the customer's page and answers the ticket.

Every step leaves a screenshot, artifacts/journey-<language>-<viewport>-<step>.png, and no
page may be wider than the screen; the site's Content-Security-Policy stays on. axe-core
comes from npm (`.ci/run` installs it); without it the test is skipped here, but fails in
CI (where ``CI`` is set).
"""

import json
import os
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from simdesk.accounts.models import User
from simdesk.accounts.roles import StaffRole
from simdesk.api.keys import operator_key_create
from simdesk.cards.iccid import iccid_with_check_digit
from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import Card, CardState, Period, PeriodState
from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
from simdesk.catalog.services import plan_upsert
from simdesk.core.clock import utcnow
from simdesk.notifications.models import Notification
from simdesk.orders.models import Order, OrderStatus
from simdesk.payments.models import SavedPaymentMethod
from simdesk.renewals.models import RenewalSettings
from simdesk.renewals.tasks import renewals_due_sweep
from simdesk.support.models import Ticket, TicketStatus
from tests.accounts.conftest import code_from_last_mail

from .conftest import ARTIFACTS, DESKTOP, PHONE
from .test_back_office import authenticator_code, make_staff  # noqa: F401 - a fixture
from .test_checkout import choose_and_review
from .test_self_service import HTTP, PASSWORD, WAIT, badge, translated, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GB = 10**9
VENDOR = Path(__file__).parent / "vendor"
AXE = Path(os.environ.get("AXE_CORE_JS", VENDOR / "node_modules" / "axe-core" / "axe.min.js"))
BLOCKING = ("serious", "critical")
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
# The outermost elements reaching past the right edge of the screen (to say what to fix).
STICKING_OUT = """[...document.querySelectorAll('body *')].filter(e =>
    e.getBoundingClientRect().right > innerWidth + 1
    && !(e.parentElement && e.parentElement.getBoundingClientRect().right > innerWidth + 1))
  .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
    + ' ' + Math.round(e.getBoundingClientRect().right) + 'px')"""


@pytest.fixture(scope="module")
def axe_source():
    if not AXE.exists():
        reason = (f"axe-core is not installed at {AXE}: "
                  "npm install --prefix tests/browser/vendor axe-core@4.14.1")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE.read_text()


class Journey:
    """One customer's (or staff member's) browser: each ``step`` checks the page fits the
    screen, runs axe-core on it, keeps what axe found, and takes the screenshot."""

    def __init__(self, browser, axe_source, language, viewport_name):
        self.language, self.viewport_name = language, viewport_name
        self.viewport = VIEWPORTS[viewport_name]
        self.axe_source = axe_source
        # The site's own Content-Security-Policy stays on: axe is evaluated through the
        # DevTools protocol, which a page's policy does not govern.
        self.context = browser.new_context(
            locale=language, viewport=self.viewport,
            extra_http_headers={"Accept-Language": language})
        self.page = self.context.new_page()
        self.findings: list[dict] = []
        self.too_wide: list[str] = []

    def step(self, name):
        page = self.page
        page.wait_for_load_state()
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > self.viewport["width"]:
            self.too_wide.append(f"{name}: the page is {width}px wide ({page.url}); "
                                 f"sticking out: {page.evaluate(STICKING_OUT)}")
        if not page.evaluate("typeof window.axe === 'object'"):
            page.evaluate(self.axe_source)
        result = page.evaluate(
            "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map("
            "v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.map(n => n.target.join(' '))})))")
        for violation in result:
            self.findings.append({"step": name, "url": page.url, **violation})
        page.screenshot(path=str(ARTIFACTS / f"journey-{self.language}-{self.viewport_name}"
                                             f"-{name}.png"), full_page=True)

    def blocking(self):
        """What must be fixed: pages wider than the screen, serious and critical findings."""
        return self.too_wide + [
            f"{f['step']}: {f['impact']} {f['id']} ({f['help']}) at {f['nodes']}"
            for f in self.findings if f["impact"] in BLOCKING]

    def close(self, who):
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"journey-{self.language}-{self.viewport_name}-{who}-axe.json").write_text(
            json.dumps(self.findings, indent=1, ensure_ascii=False))
        self.context.close()


@pytest.fixture
def journeys(browser, axe_source):
    opened = []

    def open_(language, viewport_name):
        journey = Journey(browser, axe_source, language, viewport_name)
        opened.append(journey)
        return journey

    ARTIFACTS.mkdir(exist_ok=True)
    yield open_
    for who, journey in zip(("customer", "staff"), opened, strict=False):
        journey.close(who)


@pytest.fixture
def shop(db):
    """A 5 GB / 30-day pausable plan on sale, and a new card waiting for its owner to claim it."""
    plan = plan_upsert(
        code="europe-5gb-30d", now=utcnow(), prices={"USD": 1200, "EUR": 1100},
        countries=("FR", "DE"),
        translations={"en": ("Europe 5 GB", "Data across Europe."),
                      "zh-hans": ("欧洲 5 GB", "欧洲流量。")},
        terms={"kind": PlanKind.BASE, "data_bytes": 5 * GB, "validity_days": 30,
               "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
               "region": None, "pausable": True, "max_pause_days": 30},
    )
    card = Card(iccid=iccid_with_check_digit("894470060000000001"))
    card.set_claim_code("JRN4242")  # stored as the inventory import normalises it
    card.save()
    return plan, card


def send_usage(base, token, card, *, used_bytes):
    """The operator's mediation system reports a session on the card over the API."""
    now = utcnow()
    body = json.dumps({"records": [{
        "record_id": f"journey-{card.iccid}", "iccid": card.iccid,
        "bytes_up": used_bytes // 10, "bytes_down": used_bytes - used_bytes // 10,
        "started_at": (now - timedelta(minutes=30)).isoformat(),
        "ended_at": (now - timedelta(minutes=1)).isoformat()}]}).encode()
    request = urllib.request.Request(  # noqa: S310 - the live server, over http
        f"{base}/api/v1/usage", data=body, method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
        return json.loads(response.read())


def mails_to(address, text):
    return [m for m in mail.outbox if m.to == [address] and text in m.body]


@pytest.mark.parametrize("viewport_name", list(VIEWPORTS))
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_customers_whole_journey_and_the_staff_who_help_her(
        live_server, journeys, shop, make_user, make_staff, language, viewport_name):  # noqa: F811
    plan, card = shop
    base = live_server.url
    email = f"mei-{viewport_name}@example.com"
    me = journeys(language, viewport_name)
    page = me.page
    t = lambda text: translated(text, language)  # noqa: E731
    ops = make_user("ops@example.com", is_staff=True)
    _key, operator_token = operator_key_create(name="mediation", scopes=["usage:write"],
                                               created_by=ops, now=utcnow())

    with override_settings(SITE_URL=base, SANDBOX_WEBHOOK_TRANSPORT=HTTP):
        # she signs up…
        page.goto(f"{base}{reverse('account_signup')}")
        assert page.locator("html").get_attribute("lang") == language
        page.fill("input[name=email]", email)
        page.fill("input[name=password1]", PASSWORD)
        page.fill("input[name=password2]", PASSWORD)
        me.step("signup")
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_url(f"**{reverse('account_email_verification_sent')}", timeout=WAIT)
        me.step("verify")

        # …and types the code the e-mail brought her: she is signed in, her address verified
        page.fill("input[name=code]", code_from_last_mail(email))
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_url(lambda url: "/accounts/" not in url, timeout=WAIT)
        mei = User.objects.get(email=email)
        assert mei.emailaddress_set.get().verified
        assert mei.language == language
        me.step("home")

        # she claims her card with the code on its holder
        page.goto(f"{base}{reverse('portal:card_add')}")
        page.fill("input[name=iccid]", card.iccid)
        page.fill("input[name=claim_code]", "JRN-4242")
        me.step("claim")
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(f"**/cards/{card.public_id}/", timeout=WAIT)
        card.refresh_from_db()
        assert card.owner == mei
        me.step("claimed")

        # she buys the plan for it, and pays on the sandbox, keeping the card for renewals
        choose_and_review(page, base, plan, str(card.public_id),
                          shot=lambda _page: me.step("plan"))
        page.check("input[name=save_method]")
        me.step("review")
        page.locator(".pay-button").click()
        page.wait_for_url("**/sandbox/pay/*", timeout=WAIT)
        page.fill("#card_number", "4242 4242 4242 4242")
        me.step("sandbox-pay")
        page.locator("button[name=action][value=pay]").click()
        page.wait_for_url("**/orders/*/", timeout=WAIT)
        page.locator(".order-done").wait_for(timeout=WAIT)
        first = Order.objects.get(customer=mei)
        assert first.status == OrderStatus.FULFILLED
        assert page.locator(".period-state").inner_text() == t("Active")
        me.step("paid")
        assert SavedPaymentMethod.objects.filter(customer=mei).count() == 1

        # the network reports 4.3 GB used: she gets the low-data e-mail (80 % used)…
        answer = send_usage(base, operator_token, card, used_bytes=43 * GB // 10)
        assert (answer["applied"], answer["rejected"]) == (1, 0), answer
        alert = wait_until(lambda: Notification.objects.filter(
            user=mei, kind="usage_alert", status="sent").first(), message="the usage alert")
        assert [m.subject for m in mail.outbox if m.to == [email] and "86" in m.subject
                and plan.name_for(language) in m.subject], alert.last_error
        # …and her card's page says it is running low
        page.goto(f"{base}/cards/{card.public_id}/")
        assert page.locator(".balance-note.low").inner_text().startswith(t("Running low."))
        me.step("low-data")

        # she turns auto-renewal on with the kept card, 24 hours before the end
        page.locator(".renewal-summary a").click()
        page.wait_for_url(f"**/cards/{card.public_id}/renewal/", timeout=WAIT)
        page.check("input[name=enabled]")
        page.fill("input[name=trigger_before_expiry_hours]", "24")
        page.fill("input[name=trigger_low_data_percent]", "")
        me.step("renewal-on")
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(f"**/cards/{card.public_id}/", timeout=WAIT)
        assert page.locator(".renewal-summary strong").inner_text() == t("Auto-renewal: on")
        assert RenewalSettings.objects.get(card=card).enabled

        # the plan's end comes within the 24 hours; the renewal sweep buys the next one
        Period.objects.filter(pk=first.period.pk).update(ends_at=utcnow() + timedelta(hours=6))
        assert renewals_due_sweep.call() == 1
        renewal = wait_until(lambda: Order.objects.filter(
            customer=mei, status=OrderStatus.FULFILLED).exclude(pk=first.pk).first(),
            message="the renewal's order")
        assert renewal.period.state == PeriodState.QUEUED
        page.reload()
        assert plan.name_for(language) in page.locator("#next-heading + *").inner_text()
        me.step("renewed")

        # she turns auto-renewal off
        page.locator(".renewal-summary a").click()
        page.wait_for_url(f"**/cards/{card.public_id}/renewal/", timeout=WAIT)
        page.uncheck("input[name=enabled]")
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(f"**/cards/{card.public_id}/", timeout=WAIT)
        assert page.locator(".renewal-summary strong").inner_text() == t("Auto-renewal: off")
        assert not RenewalSettings.objects.get(card=card).enabled
        me.step("renewal-off")

        # she pauses the card
        page.get_by_role("link", name=t("Pause"), exact=True).click()
        page.wait_for_url(f"**/cards/{card.public_id}/pause/", timeout=WAIT)
        me.step("pause")
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(f"**/cards/{card.public_id}/", timeout=WAIT)
        assert badge(page) == t("Paused")
        card.refresh_from_db()
        assert card.state == CardState.PAUSED
        me.step("paused")

        # and asks support about it
        page.get_by_role("link", name=t("Ask support about this card"), exact=True).click()
        page.wait_for_url("**/support/new/?card=*", timeout=WAIT)
        page.fill("input[name=subject]", "Two plans by mistake")
        page.fill("textarea[name=body]", "The renewal bought a plan I do not need.")
        me.step("ticket-new")
        page.locator("main form button[type=submit]").click()
        page.wait_for_url("**/support/*/", timeout=WAIT)
        ticket = Ticket.objects.get(customer=mei)
        assert ticket.card == card
        me.step("ticket")

        # staff: one person who answers tickets and gives refunds, signed in with TOTP
        staff_user, secret = make_staff(f"kim-{viewport_name}@staff.example",
                                        StaffRole.SUPPORT_AGENT, StaffRole.BILLING_ADMIN)
        kim = journeys(language, viewport_name)
        staff = kim.page
        staff.goto(f"{base}/staff/")
        staff.wait_for_url(f"**{reverse('account_login')}**", timeout=WAIT)
        kim.step("staff-login")
        staff.fill("input[name=login]", staff_user.email)
        staff.fill("input[name=password]", PASSWORD)
        staff.locator("form button[type=submit]").first.click()
        staff.wait_for_url(f"**{reverse('mfa_authenticate')}**", timeout=WAIT)
        kim.step("staff-totp")
        staff.fill("input[name=code]", authenticator_code(secret))
        staff.locator("main form button[type=submit]").first.click()
        staff.wait_for_url(f"{base}/staff/", timeout=WAIT)
        kim.step("staff-home")

        # she finds the card by its ICCID, then its owner
        staff.fill("#staff-q", card.iccid)
        staff.locator("form.staffsearch button[type=submit]").click()
        staff.wait_for_url(f"**/staff/?q={card.iccid}", timeout=WAIT)
        kim.step("staff-search")
        staff.locator(f"table.grid a[href='/staff/cards/{card.public_id}/']").click()
        staff.wait_for_url(f"**/staff/cards/{card.public_id}/", timeout=WAIT)
        kim.step("staff-card")
        staff.goto(f"{base}/staff/customers/{mei.public_id}/")
        kim.step("staff-customer")

        # she refunds the renewal's order in full
        refund_url = reverse("backoffice:order_refund", args=[renewal.public_id])
        staff.locator(f"a[href='{refund_url}']").click()
        staff.wait_for_url(f"**{refund_url}", timeout=WAIT)
        staff.fill("[name=reason]", "Renewed by mistake.")
        kim.step("staff-refund")
        staff.locator("form.editor button[type=submit]").click()
        staff.wait_for_url(f"**/staff/customers/{mei.public_id}/", timeout=WAIT)
        renewal.refresh_from_db()
        assert renewal.status == OrderStatus.REFUNDED
        assert renewal.period.state == PeriodState.REFUNDED
        kim.step("staff-refunded")

        # and answers the ticket
        staff.goto(f"{base}/staff/tickets/{ticket.public_id}/")
        staff.fill("textarea[name=body]", "Refunded in full; the card stays paused.")
        kim.step("staff-ticket")
        with staff.expect_navigation():
            staff.locator("form textarea[name=body]").evaluate("t => t.form.requestSubmit()")
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.WAITING_ON_CUSTOMER
        assert mails_to(email, "Refunded in full; the card stays paused.")
        kim.step("staff-answered")

        # mei reads the answer
        page.reload()
        assert "Refunded in full" in page.locator(".ticket-conversation").inner_text()
        me.step("answered")
        assert [str(v) for v in ledger_violations()] == []

    assert me.blocking() + kim.blocking() == []
