"""Staff in the back office, in a real browser, signed in with a password and a TOTP code
typed on allauth's second-factor page, as a person would.

- sam (support agent) finds alice's card by its ICCID, reads its ledger, and answers
  alice's ticket from the support inbox: the ticket waits on alice and she gets the e-mail;
- bea (billing admin) reads the day's takings on the dashboard, and refunds alice's order
  from her customer page (the sandbox gateway gives the money back, the plan ends);
- a staff account without TOTP is sent to set it up and never sees the back office.

The data is made by the real services: alice's order is paid on the sandbox gateway,
whose signed webhook fulfils it.
"""

import time
import uuid
from datetime import UTC

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core import mail
from django.urls import reverse

from simdesk.accounts.roles import StaffRole, staff_role_set
from simdesk.cards.iccid import iccid_with_check_digit
from simdesk.cards.models import Card, PeriodState
from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
from simdesk.catalog.services import plan_upsert
from simdesk.core.clock import utcnow
from simdesk.core.money import Money
from simdesk.notifications.models import Notification
from simdesk.orders.models import OrderStatus
from simdesk.orders.services import order_create
from simdesk.payments.gateways.sandbox.models import SandboxRefund
from simdesk.support.models import TicketStatus
from simdesk.support.services import ticket_open
from tests.orders.refund_fixtures import pay_on_sandbox

from .conftest import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"
TABLET = {"width": 820, "height": 1180}
TOTP_PERIOD = 30
# A code typed with less time than this left in its 30-second window may reach the
# server after the window closed (no tolerance is configured): wait for the next one.
TOTP_MARGIN = 8


@pytest.fixture
def shop(alice, django_capture_on_commit_callbacks):
    """alice's card with a 5 GB plan she bought and paid on the sandbox today (12.00 USD),
    and her question about it in the support inbox."""
    now = utcnow()
    plan = plan_upsert(
        code="europe-5gb-30d", now=now, prices={"USD": 1200, "EUR": 1100},
        countries=("FR", "DE"),
        translations={"en": ("Europe 5 GB", "Data across Europe."),
                      "zh-hans": ("欧洲 5 GB", "欧洲流量。")},
        terms={"kind": PlanKind.BASE, "data_bytes": 5 * 10**9, "validity_days": 30,
               "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
               "region": None},
    )
    card = Card(iccid=iccid_with_check_digit("894470050000000001"), owner=alice,
                label="Travel SIM")
    card.set_claim_code("ABC123")
    card.save()
    order = order_create(customer=alice, card=card, plan=plan, currency="USD",
                         idempotency_key="back-office-browser-1", now=now)
    order = pay_on_sandbox(order, now=now, capture=django_capture_on_commit_callbacks)
    assert order.status == OrderStatus.FULFILLED
    ticket = ticket_open(customer=alice, subject="Slow data in Paris",
                         body="My data crawls since this morning.", card=card, now=utcnow())
    return {"plan": plan, "card": card, "order": order, "ticket": ticket}


@pytest.fixture
def make_staff(make_user):
    """make_staff(email, role, totp=True) → (user, TOTP secret or None)."""

    def make(email, *roles, totp=True):
        user = make_user(email)
        staff_role_set(user=user, roles=set(roles), acting_user=None, now=utcnow())
        secret = None
        if totp:
            secret = generate_totp_secret()
            TOTP.activate(user, secret)
        return user, secret

    return make


def authenticator_code(secret: str) -> str:
    """The code the staff member's authenticator app shows now, taken early enough in its
    window to be still valid when the server checks it."""
    while TOTP_PERIOD - time.time() % TOTP_PERIOD < TOTP_MARGIN:
        time.sleep(0.2)  # waiting for the next window to open, not for the server
    return format_hotp_value(hotp_value(secret, int(time.time()) // TOTP_PERIOD))


def sign_in(page, base, email, *, secret=None, start="/staff/"):
    """Open ``start``, sign in on the login page it leads to, then (with ``secret``) type
    the authenticator's code on the second-factor page."""
    page.goto(f"{base}{start}")
    page.wait_for_url(f"**{reverse('account_login')}**")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    if secret is None:
        page.wait_for_url(lambda url: reverse("account_login") not in url)
        return
    page.wait_for_url(f"**{reverse('mfa_authenticate')}**")
    page.fill("input[name=code]", authenticator_code(secret))
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(lambda url: "/accounts/" not in url)


def test_a_support_agent_finds_a_card_reads_its_ledger_and_answers_a_ticket(
        live_server, open_page, screenshot, alice, shop, make_staff):
    from playwright.sync_api import expect

    card, ticket, order = shop["card"], shop["ticket"], shop["order"]
    sam, secret = make_staff("sam@staff.example", StaffRole.SUPPORT_AGENT)
    page = open_page("en", DESKTOP)

    # sam opens the back office and signs in with his password and his authenticator
    sign_in(page, live_server.url, sam.email, secret=secret)
    assert page.url == f"{live_server.url}/staff/"
    expect(page.locator("h1")).to_have_text("Back office")

    # he searches by the card's ICCID and opens the card
    page.fill("#staff-q", card.iccid)
    page.locator("form.staffsearch button[type=submit]").click()
    page.wait_for_url(f"**/staff/?q={card.iccid}")
    hit = page.locator(f"table.grid a[href='/staff/cards/{card.public_id}/']")
    expect(hit).to_have_text(card.iccid)
    hit.click()
    page.wait_for_url(f"**/staff/cards/{card.public_id}/")
    expect(page.locator("h1")).to_have_text(card.iccid)

    # the ledger shows the purchase: 5 GB credited, caused by alice's order
    ledger = page.locator("section.panel", has=page.get_by_role("heading", name="Ledger"))
    purchase = ledger.locator("tbody tr", has_text=f"purchase:{order.reference}")
    expect(purchase).to_have_count(1)
    cells = purchase.locator("td")
    expect(cells.nth(1)).to_have_text("Purchase")
    expect(cells.nth(2)).to_have_text("5000000000")
    expect(cells.nth(3)).to_have_text("5000000000")
    # the period it opened, and the order, are there too
    periods = page.locator("section.panel", has=page.get_by_role("heading", name="Periods"))
    expect(periods.locator("tbody tr").locator("td").nth(0)).to_have_text("europe-5gb-30d")
    expect(periods.locator("tbody tr").locator("td").nth(1)).to_have_text("Active")
    expect(page.locator("section.panel", has=page.get_by_role("heading", name="Orders"))
           .locator("tbody tr")).to_contain_text(["Europe 5 GB"])
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    screenshot(page, "backoffice-card")

    # the same page on a tablet: nothing sticks out sideways (wide tables scroll inside)
    page.set_viewport_size(TABLET)
    expect(page.locator("h1")).to_have_text(card.iccid)
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    screenshot(page, "backoffice-card-tablet")
    page.set_viewport_size(DESKTOP)

    # the support inbox lists alice's question; sam opens it
    page.locator("nav.staffnav").get_by_role("link", name="Support inbox").click()
    page.wait_for_url(f"**{reverse('backoffice:tickets')}")
    row = page.locator("table.grid tbody tr", has_text="Slow data in Paris")
    expect(row).to_contain_text(alice.email)
    row.get_by_role("link", name="Slow data in Paris").click()
    page.wait_for_url(f"**/staff/tickets/{ticket.public_id}/")
    expect(page.locator(".ticket-conversation")).to_contain_text(
        "My data crawls since this morning.")

    # he answers
    page.fill("textarea[name=body]", "Please restart your phone; the network is fine.")
    with page.expect_navigation():  # the POST, then back to the ticket's own page
        page.get_by_role("button", name="Send the reply").click()
    expect(page.get_by_text("Your reply was sent to the customer.")).to_be_visible()
    expect(page.locator(".ticket-conversation .from-staff")).to_contain_text(
        "Please restart your phone; the network is fine.")

    # the ticket now waits on alice, and she got the answer by e-mail
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING_ON_CUSTOMER
    sent = Notification.objects.get(user=alice, kind="ticket_reply")
    assert sent.status == "sent", sent.last_error
    mails = [m for m in mail.outbox if m.to == [alice.email]
             and "Please restart your phone" in m.body]
    assert len(mails) == 1


def test_a_billing_admin_reads_the_days_takings_on_the_dashboard(
        live_server, open_page, screenshot, shop, make_staff):
    from playwright.sync_api import expect

    bea, secret = make_staff("bea@staff.example", StaffRole.BILLING_ADMIN)
    page = open_page("en", DESKTOP)

    sign_in(page, live_server.url, bea.email, secret=secret, start="/staff/dashboard/")
    assert page.url == f"{live_server.url}/staff/dashboard/"
    expect(page.locator("h1")).to_have_text("Dashboard")

    # alice's 12.00 USD, paid today (bea's days are UTC ones), is the day's takings
    today = shop["order"].paid_at.astimezone(UTC).strftime("%Y-%m-%d")
    twelve = Money(1200, "USD").format("en")
    takings = page.locator("#revenue-usd")
    expect(takings.locator("h2")).to_have_text("Takings per day in USD")
    expect(takings.locator("tbody tr", has_text=today).locator("td").nth(1)).to_have_text(twelve)
    expect(takings.locator("tfoot td")).to_have_text(twelve)
    top = page.locator("#top-plans tbody tr", has_text="europe-5gb-30d")
    expect(top.locator("td")).to_have_text(["europe-5gb-30d", "Europe 5 GB", "1", twelve])
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    screenshot(page, "backoffice-dashboard")


def test_a_staff_member_without_totp_is_sent_to_set_it_up(live_server, open_page, make_staff):
    from playwright.sync_api import expect

    tom, _secret = make_staff("tom@staff.example", StaffRole.SUPPORT_AGENT, totp=False)
    page = open_page("en", DESKTOP)

    # tom signs in with his password alone, as he can, and goes to the back office
    sign_in(page, live_server.url, tom.email, start="/staff/")

    # he is told why he cannot enter; allauth asks for his password once more before a
    # security change, then shows the page that sets up an authenticator app
    page.wait_for_url(f"**{reverse('account_reauthenticate')}?next=*")
    expect(page.get_by_text("Staff accounts need two-factor authentication.")).to_be_visible()
    expect(page.locator("nav.staffnav")).to_have_count(0)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    activate = f"{live_server.url}{reverse('mfa_activate_totp')}"
    page.wait_for_url(activate)
    expect(page.locator("#authenticator_secret")).to_be_visible()
    expect(page.locator("nav.staffnav")).to_have_count(0)

    # no back-office page opens for him until he has done it
    for url in ("/staff/", "/staff/dashboard/", f"/staff/tickets/?status={TicketStatus.OPEN}"):
        page.goto(f"{live_server.url}{url}")
        assert page.url == activate, url
        expect(page.locator("nav.staffnav")).to_have_count(0)
    assert not Authenticator.objects.filter(user=tom).exists()


def test_a_billing_admin_refunds_alices_order_from_her_customer_page(
        live_server, open_page, screenshot, alice, shop, make_staff):
    from playwright.sync_api import expect

    order = shop["order"]
    refund_url = reverse("backoffice:order_refund", args=[order.public_id])
    bea, secret = make_staff("bea@staff.example", StaffRole.BILLING_ADMIN)
    page = open_page("en", DESKTOP)
    sign_in(page, live_server.url, bea.email, secret=secret)

    # bea finds alice by e-mail and opens her page
    page.fill("#staff-q", alice.email)
    page.locator("form.staffsearch button[type=submit]").click()
    page.locator("table.grid").get_by_role("link", name=alice.email).click()
    page.wait_for_url(f"**/staff/customers/{alice.public_id}/")

    # she refunds all of the order, with a reason
    orders = page.locator("section.panel", has=page.get_by_role("heading", name="Orders"))
    orders.locator(f"a[href='{refund_url}']").click()
    page.wait_for_url(f"**{refund_url}")
    expect(page.locator("h1")).to_have_text("Refund an order")
    expect(page.get_by_label("All that is left")).to_be_checked()
    page.get_by_label("Reason").fill("The network failed in Paris.")
    page.locator("form.editor").get_by_role("button", name="Refund").click()
    page.wait_for_url(f"**/staff/customers/{alice.public_id}/")
    expect(page.get_by_text("The refund is made; the customer gets an e-mail.")).to_be_visible()

    # the order is refunded, through the sandbox gateway, and its plan ended
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert [r.amount_minor for r in order.payment.refunds.all()] == [1200]
    charge = uuid.UUID(order.payment.gateway_payment_id.removeprefix("sbx_"))
    assert [r.amount_minor for r in SandboxRefund.objects.filter(
        charge__public_id=charge)] == [1200]
    order.period.refresh_from_db()
    assert order.period.state == PeriodState.REFUNDED
    expect(orders.locator("tbody tr").first).to_contain_text("Refunded")
    screenshot(page, "backoffice-refund")
