"""A customer looks after her card herself, in a real browser on a phone, in English and in
Chinese: she changes its plan "now" (sees the refund of the old plan, pays for the new one on
the sandbox, the old one is refunded exactly as shown), pauses and resumes it, and asks
support about it and reads the answer.

The card's current plan is bought through the real services (an order paid on the
sandbox and fulfilled), so there is a payment to refund. During the browser part the
sandbox's webhook travels over real HTTP to the live server, as a vendor's would.
"""

import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import translation

from simdesk.cards.iccid import iccid_with_check_digit
from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import Card, CardState, PeriodState
from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
from simdesk.catalog.services import plan_upsert
from simdesk.core.clock import utcnow
from simdesk.orders.models import Order, OrderStatus, RefundCause, RefundRequest
from simdesk.orders.services import order_create
from simdesk.support.models import Ticket, TicketStatus
from simdesk.support.services import ticket_reply_staff
from tests.orders.refund_fixtures import pay_on_sandbox as pay_with_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"
HTTP = "simdesk.payments.gateways.sandbox.transport.UrllibTransport"
GB = 10**9
LANGUAGES = ["en", "zh-hans"]
WAIT = 20_000  # ms: a loaded two-core machine


def translated(text, language):
    with translation.override(language):
        return translation.gettext(text)


def wait_until(condition, *, timeout=20.0, message="condition"):
    """Poll the database (the refund is sent after the fulfilment's commit)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.2)


def plan(code, *, name_en, name_zh, data_gb, price_usd):
    return plan_upsert(
        code=code, now=utcnow(), prices={"USD": price_usd, "EUR": price_usd - 100},
        countries=("FR", "DE"),
        translations={"en": (name_en, "Data across Europe."), "zh-hans": (name_zh, "欧洲流量。")},
        terms={"kind": PlanKind.BASE, "data_bytes": data_gb * GB, "validity_days": 30,
               "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
               "region": None, "pausable": True, "max_pause_days": 30},
    )


@pytest.fixture
def paid_card(alice, django_capture_on_commit_callbacks):
    """alice's card on a pausable 5 GB / 30-day plan bought for 12.00 USD 9 days and 7 hours
    ago, paid on the sandbox and fulfilled; a bigger plan is on sale too.

    The odd age keeps the pro rata refund (12.00 × 20d17h / 30d = 8.28) well away from a
    rounding edge, so the seconds between the quote and the payment don't move it."""
    small = plan("europe-5gb-30d", name_en="Europe 5 GB", name_zh="欧洲 5 GB", data_gb=5,
                 price_usd=1200)
    big = plan("europe-10gb-30d", name_en="Europe 10 GB", name_zh="欧洲 10 GB", data_gb=10,
               price_usd=2000)
    card = Card(iccid=iccid_with_check_digit("894470040000000011"), owner=alice,
                label="Travel SIM")
    card.set_claim_code("ABC123")
    card.save()
    bought_at = utcnow() - timedelta(days=9, hours=7)
    order = order_create(customer=alice, card=card, plan=small, currency="USD",
                         idempotency_key="self-service-first", now=bought_at)
    order = pay_with_services(order, now=bought_at, capture=django_capture_on_commit_callbacks)
    assert order.status == OrderStatus.FULFILLED
    card.refresh_from_db()
    assert card.state == CardState.ACTIVE
    return card, order, small, big


def sign_in(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "/accounts/login" not in page.url


def open_card(page, base, card, language):
    page.goto(f"{base}/cards/{card.public_id}/")
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("h1").inner_text() == "Travel SIM"


def badge(page):
    return page.locator(".page-head .badge").inner_text().strip()


def fits_the_phone(page):
    return page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_lets_a_customer_change_plan_now_and_refunds_the_old_one_as_shown(
        live_server, open_page, screenshot, alice, paid_card, language):
    card, old_order, small, big = paid_card
    old = old_order.period
    page = open_page(language)
    with override_settings(SITE_URL=live_server.url, SANDBOX_WEBHOOK_TRANSPORT=HTTP):
        # given alice on her card's page
        sign_in(page, live_server.url, alice.email)
        open_card(page, live_server.url, card, language)
        assert badge(page) == translated("Active", language)

        # when she follows "Change plan", chooses the bigger plan, now, in USD
        page.get_by_role("link", name=translated("Change plan", language), exact=True).click()
        page.wait_for_url(f"**/cards/{card.public_id}/change-plan/", timeout=WAIT)
        page.select_option("select[name=plan]", big.code)
        page.check("input[name=when][value=now]")
        page.select_option("select[name=currency]", "USD")
        assert fits_the_phone(page)
        screenshot(page, f"self-service-{language}-plan-choose")
        page.locator("main form button[type=submit]").click()
        page.wait_for_url("**/change-plan/confirm/?*", timeout=WAIT)

        # then she sees what she gets back before confirming: 12.00 × 20d17h/30d
        assert page.locator("h1").inner_text() == translated("Confirm the plan change",
                                                             language)
        quoted = page.locator(".refund-amount strong").inner_text()
        assert "8.28" in quoted
        assert "20.00" in page.locator(".checkout-facts").inner_text()
        assert fits_the_phone(page)
        screenshot(page, f"self-service-{language}-plan-change")

        # when she confirms: the checkout page shows the same refund again
        page.locator("main form[method=post] button[type=submit]").click()
        page.wait_for_url("**/checkout/*/", timeout=WAIT)
        order = Order.objects.get(replaces_period=old)
        assert order.plan_change_refund_minor == 828
        assert page.locator(".plan-change-note strong").inner_text() == quoted
        screenshot(page, f"self-service-{language}-plan-checkout")

        # and pays on the sandbox page
        page.locator(".pay-button").click()
        page.wait_for_url("**/sandbox/pay/*", timeout=WAIT)
        page.fill("#card_number", "4242 4242 4242 4242")
        page.locator("button[name=action][value=pay]").click()
        page.wait_for_url("**/orders/*/", timeout=WAIT)
        page.locator(".order-done").wait_for(timeout=WAIT)
        assert page.locator(".period-state").inner_text() == translated("Active", language)
        screenshot(page, f"self-service-{language}-plan-paid")

        # then the new plan is active and the old one refunded by exactly what was shown
        order.refresh_from_db()
        assert order.status == OrderStatus.FULFILLED
        assert order.period.state == PeriodState.ACTIVE
        assert order.period.plan_id == big.pk
        refund = wait_until(
            lambda: RefundRequest.objects.filter(period=old, status="refunded").first(),
            message="the plan change refund")
        assert (refund.cause, refund.amount_minor) == (RefundCause.PLAN_CHANGE, 828)
        old.refresh_from_db()
        assert old.state == PeriodState.REFUNDED
        old_order.refresh_from_db()
        assert old_order.payment.refunded_minor == 828
        assert old_order.status == OrderStatus.PARTIALLY_REFUNDED
        assert [str(v) for v in ledger_violations()] == []

        # and the card's page names the new plan
        open_card(page, live_server.url, card, language)
        assert page.locator(".plan-names").inner_text() == big.name_for(language)
        assert badge(page) == translated("Active", language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_lets_a_customer_pause_and_resume_a_card(
        live_server, open_page, screenshot, alice, paid_card, language):
    card, _order, _small, _big = paid_card
    page = open_page(language)
    sign_in(page, live_server.url, alice.email)
    open_card(page, live_server.url, card, language)
    assert badge(page) == translated("Active", language)

    # when she pauses it, through the confirmation page
    page.get_by_role("link", name=translated("Pause", language), exact=True).click()
    page.wait_for_url(f"**/cards/{card.public_id}/pause/", timeout=WAIT)
    assert page.locator("h1").inner_text() == translated("Pause this card", language)
    assert fits_the_phone(page)
    screenshot(page, f"self-service-{language}-pause-confirm")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"**/cards/{card.public_id}/", timeout=WAIT)

    # then the badge says paused, and so does the database
    assert badge(page) == translated("Paused", language)
    assert page.locator(".message.warning").is_visible()
    card.refresh_from_db()
    assert card.state == CardState.PAUSED
    assert fits_the_phone(page)
    screenshot(page, f"self-service-{language}-paused")

    # when she resumes it
    page.get_by_role("link", name=translated("Resume", language), exact=True).click()
    page.wait_for_url(f"**/cards/{card.public_id}/resume/", timeout=WAIT)
    assert page.locator("h1").inner_text() == translated("Resume this card", language)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"**/cards/{card.public_id}/", timeout=WAIT)

    # then it is active again
    assert badge(page) == translated("Active", language)
    card.refresh_from_db()
    assert card.state == CardState.ACTIVE
    screenshot(page, f"self-service-{language}-resumed")
    assert [str(v) for v in ledger_violations()] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_lets_a_customer_ask_support_about_the_card_and_read_the_answer(
        live_server, open_page, screenshot, alice, make_user, paid_card, language):
    card, _order, _small, _big = paid_card
    agent = make_user("agent@example.com", is_staff=True)
    page = open_page(language)
    sign_in(page, live_server.url, alice.email)
    open_card(page, live_server.url, card, language)

    # when she asks support from the card's page (the form already says which card)
    page.get_by_role("link", name=translated("Ask support about this card",
                                                 language), exact=True).click()
    page.wait_for_url("**/support/new/?card=*", timeout=WAIT)
    assert page.locator("select[name=about]").input_value() == f"card:{card.public_id}"
    page.fill("input[name=subject]", "No data in Paris")
    page.fill("textarea[name=body]", "My card shows data left but nothing loads.")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/support/*/", timeout=WAIT)
    ticket = Ticket.objects.get(customer=alice)
    assert ticket.card == card
    assert page.url.endswith(f"/support/{ticket.public_id}/")
    assert page.locator(".ticket-badge").inner_text() == translated("Open", language)

    # and an agent answers (through the support service)
    ticket_reply_staff(ticket=ticket, author=agent, body="Please switch data roaming on.",
                       now=utcnow())

    # then she reads the answer, marked as the support team's, and the ticket waits on her
    page.reload()
    conversation = page.locator(".ticket-conversation")
    assert "Please switch data roaming on." in conversation.inner_text()
    assert translated("Support team", language) in (
        page.locator(".ticket-message.from-staff .ticket-meta").inner_text())
    assert page.locator(".ticket-badge").inner_text() == translated("Waiting for your reply",
                                                                    language)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING_ON_CUSTOMER
    assert fits_the_phone(page)
    screenshot(page, f"self-service-{language}-ticket")
