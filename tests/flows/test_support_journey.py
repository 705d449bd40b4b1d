"""A support conversation over HTTP: alice opens a request about her card on the portal,
an agent answers on the ticket's admin page, the answer reaches alice by e-mail with a
link back, she writes again (the ticket reopens), the agent answers once more, and the
clock resolves the ticket after the quiet period — not a minute before."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client

from config.schedule import SCHEDULE
from simdesk.core.clock import utcnow
from simdesk.core.sweeps import sweeps_run_due
from simdesk.support.models import Ticket, TicketStatus

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def signed_in(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    token = csrf(client.get("/accounts/login/").content.decode())
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD,
                                                "csrfmiddlewaretoken": token})
    assert response.status_code == 302, response.content[:500]
    return client


def test_a_support_conversation_from_question_to_auto_close(alice, card, make_user, settings):
    settings.SUPPORT_TICKET_AUTO_CLOSE_DAYS = 7
    agent = make_user("agent@example.com", is_staff=True, is_superuser=True)
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        # alice asks about her card, from the card's "Ask support" link
        customer = signed_in(alice)
        card_page = customer.get(f"/cards/{card.public_id}/").content.decode()
        link = re.search(r'href="(/support/new/\?card=[^"]+)"', card_page).group(1)
        form = customer.get(link).content.decode()
        response = customer.post("/support/new/", {
            "csrfmiddlewaretoken": csrf(form), "subject": "No data in Lyon",
            "about": f"card:{card.public_id}", "body": "My card shows no signal."})
        assert response.status_code == 302
        ticket = Ticket.objects.get()
        assert response["Location"] == f"/support/{ticket.public_id}/"
        assert ticket.card == card and ticket.status == TicketStatus.OPEN

        # the agent answers from the ticket's admin page
        staff = signed_in(agent)
        admin_page = staff.get(f"/admin/support/ticket/{ticket.pk}/change/").content.decode()
        assert "My card shows no signal." in admin_page
        clock.shift(timedelta(hours=1))
        response = staff.post(f"/admin/support/ticket/{ticket.pk}/change/", {
            "csrfmiddlewaretoken": csrf(admin_page), "reply": "Is data roaming on?"})
        assert response.status_code == 302
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.WAITING_ON_CUSTOMER

        # the answer is in alice's mailbox, with a link to the conversation
        [email] = mail.outbox
        assert email.to == ["alice@example.com"]
        assert "Is data roaming on?" in email.body
        url = re.search(r"https?://\S+(/support/[0-9a-f-]+/)", email.body).group(1)
        page = customer.get(url).content.decode()
        assert "Is data roaming on?" in page and "Waiting for your reply" in page

        # alice writes again: the ticket is open again
        clock.shift(timedelta(hours=1))
        response = customer.post(f"{url}reply/", {"csrfmiddlewaretoken": csrf(page),
                                                  "body": "It was off, thanks!"})
        assert response.status_code == 302
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.OPEN

        # the agent answers once more; nothing more from alice
        admin_page = staff.get(f"/admin/support/ticket/{ticket.pk}/change/").content.decode()
        response = staff.post(f"/admin/support/ticket/{ticket.pk}/change/", {
            "csrfmiddlewaretoken": csrf(admin_page), "reply": "Glad it works."})
        assert response.status_code == 302
        assert len(mail.outbox) == 2
        answered_at = utcnow()

        # the clock: still waiting a minute before the quiet period ends, resolved after it
        clock.move_to(answered_at + timedelta(days=7) - timedelta(minutes=1))
        sweeps_run_due(schedule=SCHEDULE, now=utcnow())
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.WAITING_ON_CUSTOMER

        clock.move_to(answered_at + timedelta(days=7, minutes=15))
        sweeps_run_due(schedule=SCHEDULE, now=utcnow())
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.RESOLVED
        assert [(e.from_status, e.to_status) for e in ticket.events.all()] == [
            ("", "open"), ("open", "waiting_on_customer"), ("waiting_on_customer", "open"),
            ("open", "waiting_on_customer"), ("waiting_on_customer", "resolved")]
        assert "Resolved" in customer.get(url).content.decode()
