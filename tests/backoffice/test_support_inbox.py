"""The support inbox: sam (support agent) finds the customer who has waited longest, reads
the conversation with the customer's cards at hand, answers (alice gets it by e-mail) and
resolves; each action leaves one audit entry. bea (billing admin) cannot answer."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse

from simdesk.core.models import AuditEntry
from simdesk.support.models import TicketMessage, TicketStatus
from simdesk.support.services import ticket_open, ticket_reply_staff

from .conftest import sign_in_staff


@pytest.fixture
def alices_card(make_card, alice):
    return make_card(owner=alice)


@pytest.fixture
def ticket(alice, alices_card, now):
    """alice asked about her card two hours ago."""
    return ticket_open(customer=alice, subject="Slow data", body="It crawls since Monday.",
                       card=alices_card, now=now - timedelta(hours=2))


def reply(client, ticket, **data):
    data.setdefault("key", str(uuid.uuid4()))
    return client.post(reverse("backoffice:ticket_reply", args=[ticket.public_id]), data)


def test_it_lists_open_tickets_oldest_waiting_first(client, agent, alice, make_user, ticket,
                                                    now):
    # given bob asked after alice, and carol's ticket waits on her
    bob = make_user("bob@example.com")
    ticket_open(customer=bob, subject="Roaming question", body="Does it work in Peru?",
                now=now - timedelta(hours=1))
    carol = make_user("carol@example.com")
    waiting = ticket_open(customer=carol, subject="Invoice copy", body="Please.",
                          now=now - timedelta(days=1))
    ticket_reply_staff(ticket=waiting, author=agent, body="Attached.", now=now)
    sign_in_staff(client, agent)

    # when sam opens the inbox
    html = client.get(reverse("backoffice:tickets")).content.decode()

    # then alice (waiting longest) comes first; carol's ticket is under "waiting"
    assert html.index("Slow data") < html.index("Roaming question")
    assert "Invoice copy" not in html
    assert alice.email in html and str(ticket.card.iccid) in html
    waiting_html = client.get(reverse("backoffice:tickets"),
                              {"status": TicketStatus.WAITING_ON_CUSTOMER}).content.decode()
    assert "Invoice copy" in waiting_html and "Slow data" not in waiting_html


def test_it_shows_the_conversation_and_links_the_customers_cards(client, agent, alice,
                                                                 alices_card, ticket):
    sign_in_staff(client, agent)

    page = client.get(reverse("backoffice:ticket", args=[ticket.public_id]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "It crawls since Monday." in html
    assert reverse("backoffice:card", args=[alices_card.public_id]) in html
    assert reverse("backoffice:customer", args=[alice.public_id]) in html


def test_an_agents_reply_reaches_alice_by_e_mail_and_is_audited(
        client, agent, ticket, mailoutbox, django_capture_on_commit_callbacks):
    sign_in_staff(client, agent)

    with django_capture_on_commit_callbacks(execute=True):
        response = reply(client, ticket, body="Restart the phone, please.")

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING_ON_CUSTOMER
    message = ticket.messages.get(from_staff=True)
    assert (message.body, message.author) == ("Restart the phone, please.", agent)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["alice@example.com"]
    entry = AuditEntry.objects.get(action="ticket.reply")
    assert (entry.actor, entry.target_id, entry.before, entry.after) == (
        agent, str(ticket.public_id), {"status": "open"},
        {"status": "waiting_on_customer", "message": str(message.public_id)})


def test_a_reply_can_resolve_the_ticket_in_the_same_step(client, agent, ticket):
    sign_in_staff(client, agent)

    reply(client, ticket, body="Fixed on our side.", resolve="on")

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.messages.filter(from_staff=True).count() == 1
    assert AuditEntry.objects.get(action="ticket.reply").after["status"] == "resolved"


def test_an_empty_reply_is_refused_and_nothing_is_written(client, agent, ticket):
    sign_in_staff(client, agent)

    response = reply(client, ticket, body="   ")

    assert response.status_code == 400
    assert response.context["reply_form"].errors["body"]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert not TicketMessage.objects.filter(from_staff=True).exists()
    assert not AuditEntry.objects.filter(action__startswith="ticket.").exists()


def test_a_reply_form_sent_twice_answers_once(client, agent, ticket, mailoutbox):
    sign_in_staff(client, agent)
    key = str(uuid.uuid4())

    reply(client, ticket, body="One answer.", key=key)
    reply(client, ticket, body="One answer.", key=key)

    assert ticket.messages.filter(from_staff=True).count() == 1
    assert AuditEntry.objects.filter(action="ticket.reply").count() == 1


def test_resolving_is_audited_once(client, agent, ticket):
    sign_in_staff(client, agent)
    url = reverse("backoffice:ticket_resolve", args=[ticket.public_id])

    client.post(url, {"key": str(uuid.uuid4())})
    client.post(url, {"key": str(uuid.uuid4())})  # already resolved: nothing to record

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert [(e.action, e.before, e.after) for e in AuditEntry.objects.all()
            if e.action.startswith("ticket.")] == [
        ("ticket.resolve", {"status": "open"}, {"status": "resolved"})]


def test_a_billing_admin_cannot_answer_tickets(client, biller, ticket):
    sign_in_staff(client, biller)

    assert reply(client, ticket, body="Hello").status_code == 403
    assert client.get(reverse("backoffice:tickets")).status_code == 403
    assert not TicketMessage.objects.filter(from_staff=True).exists()


def test_the_customer_page_lists_their_tickets(client, agent, alice, ticket):
    sign_in_staff(client, agent)

    html = client.get(reverse("backoffice:customer", args=[alice.public_id])).content.decode()

    assert "Slow data" in html
    assert reverse("backoffice:ticket", args=[ticket.public_id]) in html
