"""On a phone with JavaScript switched off: alice dismisses an announcement on the home page,
opens a support request, and reads the agent's answer; the agent answers from the admin."""

from datetime import timedelta

import pytest
from django.utils import timezone

from simdesk.support.models import Announcement, AnnouncementTranslation, Ticket, TicketStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"


def sign_in(page, url, email):
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "/accounts/login" not in page.url


def test_a_support_request_and_an_announcement_without_javascript_on_a_phone(
        live_server, browser, alice, make_user, screenshot):
    from .conftest import PHONE

    agent = make_user("agent@example.com", is_staff=True, is_superuser=True)
    now = timezone.now()
    sale = Announcement.objects.create(internal_name="Sale", starts_at=now - timedelta(hours=1),
                                       ends_at=now + timedelta(days=1))
    AnnouncementTranslation.objects.create(announcement=sale, language="en",
                                           title="Summer sale", body="10 % off every plan.")
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="en")
    page = context.new_page()

    sign_in(page, live_server.url, alice.email)
    page.goto(f"{live_server.url}/")
    assert page.locator(".announcement h2").inner_text() == "Summer sale"
    screenshot(page, "support-home-announcement")
    page.locator(".announcement-dismiss button").click()
    page.wait_for_load_state()
    assert page.locator(".announcement").count() == 0

    # a new request, with the form's own error first
    page.goto(f"{live_server.url}/support/new/")
    page.fill("input[name=subject]", "Slow data")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".field.has-error .error").inner_text() == (
        "Write your message before sending it.")
    page.fill("textarea[name=body]", "My data is slow in Paris.\nSince yesterday.")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    ticket = Ticket.objects.get()
    assert page.url.endswith(f"/support/{ticket.public_id}/")
    assert "Since yesterday." in page.locator(".ticket-conversation").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # the agent answers from the admin page of the ticket
    staff = browser.new_context(java_script_enabled=False).new_page()
    sign_in(staff, live_server.url, agent.email)
    staff.goto(f"{live_server.url}/admin/support/ticket/{ticket.pk}/change/")
    staff.fill("textarea[name=reply]", "Please restart your phone.")
    staff.locator("input[name=_save]").click()
    staff.wait_for_load_state()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING_ON_CUSTOMER

    page.reload()
    assert "Please restart your phone." in page.locator(".ticket-conversation").inner_text()
    assert "Waiting for your reply" in page.locator(".ticket-badge").inner_text()
    screenshot(page, "support-ticket-phone")
    context.close()
