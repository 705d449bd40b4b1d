"""Support tickets: opening, the conversation, statuses with their history, the e-mail on
each staff reply, and the clock's auto-close after the quiet period."""

from datetime import timedelta

import pytest

from simdesk.core.errors import NotFound, ServiceError
from simdesk.notifications.models import Notification
from simdesk.support.models import BODY_MAX_LENGTH, TicketStatus
from simdesk.support.selectors import tickets_due_for_auto_close, tickets_for_customer
from simdesk.support.services import (
    ticket_auto_close,
    ticket_message_add,
    ticket_open,
    ticket_reply_staff,
    ticket_resolve,
)
from simdesk.support.tasks import tickets_auto_close_sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(alice, now):
    """alice asked why her data is slow."""
    return ticket_open(customer=alice, subject="Slow data", body="My data is slow in Paris.",
                       now=now)


def history(ticket):
    return [(e.from_status, e.to_status) for e in ticket.events.order_by("at", "id")]


def test_it_opens_a_ticket_with_the_first_message_and_an_open_status(alice, ticket):
    assert ticket.status == TicketStatus.OPEN
    assert [m.body for m in ticket.messages.all()] == ["My data is slow in Paris."]
    assert history(ticket) == [("", "open")]


def test_it_moves_through_staff_reply_customer_reply_and_resolve_with_history(
        alice, agent, ticket, now, mailoutbox, django_capture_on_commit_callbacks):
    # when staff answer
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply_staff(ticket=ticket, author=agent, body="Which network?",
                           now=now + timedelta(hours=1))
    ticket.refresh_from_db()
    # then the ticket waits on alice and she gets the reply by e-mail
    assert ticket.status == TicketStatus.WAITING_ON_CUSTOMER
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["alice@example.com"]
    assert "Slow data" in mailoutbox[0].subject
    assert "Which network?" in mailoutbox[0].body
    assert f"/support/{ticket.public_id}/" in mailoutbox[0].body

    # when alice answers, the ticket is open again
    ticket_message_add(ticket=ticket, author=alice, body="Orange.", now=now + timedelta(hours=2))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN

    # when staff resolve it
    ticket_resolve(ticket=ticket, actor=agent, now=now + timedelta(hours=3))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.resolved_at == now + timedelta(hours=3)
    assert history(ticket) == [("", "open"), ("open", "waiting_on_customer"),
                               ("waiting_on_customer", "open"), ("open", "resolved")]
    assert [m.from_staff for m in ticket.messages.all()] == [False, True, False]


def test_it_sends_one_e_mail_per_staff_reply_and_none_for_customer_messages(
        alice, agent, ticket, now, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply_staff(ticket=ticket, author=agent, body="First answer", now=now)
        ticket_message_add(ticket=ticket, author=alice, body="Thanks", now=now)
        ticket_reply_staff(ticket=ticket, author=agent, body="Second answer", now=now)
    assert len(mailoutbox) == 2
    assert "First answer" in mailoutbox[0].body and "Second answer" in mailoutbox[1].body
    assert Notification.objects.filter(kind="ticket_reply").count() == 2


def test_it_reopens_a_resolved_ticket_when_the_customer_writes_again(alice, agent, ticket,
                                                                      now):
    ticket_resolve(ticket=ticket, actor=agent, now=now)
    ticket_message_add(ticket=ticket, author=alice, body="It is slow again.",
                       now=now + timedelta(days=1))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.resolved_at is None


def test_it_resolves_only_once(agent, ticket, now):
    ticket_resolve(ticket=ticket, actor=agent, now=now)
    ticket_resolve(ticket=ticket, actor=agent, now=now + timedelta(hours=1))
    assert history(ticket) == [("", "open"), ("open", "resolved")]


def test_it_refuses_a_message_from_someone_else_on_alices_ticket(bob, ticket, now):
    with pytest.raises(NotFound):
        ticket_message_add(ticket=ticket, author=bob, body="Hello", now=now)
    assert ticket.messages.count() == 1


def test_it_refuses_a_staff_reply_from_a_customer(bob, ticket, now):
    with pytest.raises(ServiceError) as refused:
        ticket_reply_staff(ticket=ticket, author=bob, body="I am staff", now=now)
    assert refused.value.code == "not_staff"


@pytest.mark.parametrize("body", ["", "   \n  ", "x" * (BODY_MAX_LENGTH + 1)])
def test_it_refuses_an_empty_or_oversized_message(alice, ticket, now, body):
    with pytest.raises(ServiceError) as refused:
        ticket_message_add(ticket=ticket, author=alice, body=body, now=now)
    assert refused.value.code in ("ticket_body_empty", "ticket_body_too_long")
    assert ticket.messages.count() == 1


def test_it_counts_a_line_break_as_one_character(alice, ticket, now):
    body = "x" * (BODY_MAX_LENGTH - 2) + "\r\ny"  # 5000 characters once the CR goes
    message = ticket_message_add(ticket=ticket, author=alice, body=body, now=now)
    assert len(message.body) == BODY_MAX_LENGTH


def test_it_refuses_a_card_or_order_of_another_customer(alice, bob_card, now):
    with pytest.raises(NotFound):
        ticket_open(customer=alice, subject="About bob's card", body="?", card=bob_card,
                    now=now)


def test_it_opens_a_ticket_about_one_of_the_customers_cards(alice, alice_card, now):
    ticket = ticket_open(customer=alice, subject="Card", body="Help", card=alice_card, now=now)
    assert ticket.card == alice_card


def test_it_treats_a_resubmitted_form_as_one_ticket_and_one_message(alice, ticket, now):
    again = ticket_open(customer=alice, subject="Slow data", body="My data is slow in Paris.",
                        now=now + timedelta(seconds=5))
    assert again == ticket
    ticket_message_add(ticket=ticket, author=alice, body="Still slow", now=now)
    ticket_message_add(ticket=ticket, author=alice, body="Still slow",
                       now=now + timedelta(seconds=3))
    assert ticket.messages.count() == 2


# --- Auto-close ------------------------------------------------------------------------------

def test_it_auto_closes_after_the_quiet_period_and_not_before(agent, ticket, now, settings):
    settings.SUPPORT_TICKET_AUTO_CLOSE_DAYS = 7
    ticket_reply_staff(ticket=ticket, author=agent, body="Try restarting.", now=now)

    almost = now + timedelta(days=7) - timedelta(seconds=1)
    assert list(tickets_due_for_auto_close(now=almost)) == []
    assert ticket_auto_close(ticket=ticket, now=almost) is False
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING_ON_CUSTOMER

    quiet = now + timedelta(days=7)
    assert list(tickets_due_for_auto_close(now=quiet)) == [ticket]
    assert ticket_auto_close(ticket=ticket, now=quiet) is True
    assert ticket_auto_close(ticket=ticket, now=quiet) is False  # a second call: nothing
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert history(ticket)[-1] == ("waiting_on_customer", "resolved")
    assert ticket.events.order_by("-id").first().actor is None


def test_it_counts_the_quiet_period_from_the_latest_staff_reply(agent, ticket, now):
    ticket_reply_staff(ticket=ticket, author=agent, body="One", now=now)
    ticket_reply_staff(ticket=ticket, author=agent, body="Two", now=now + timedelta(days=5))
    assert ticket_auto_close(ticket=ticket, now=now + timedelta(days=8)) is False
    assert ticket_auto_close(ticket=ticket, now=now + timedelta(days=12)) is True


def test_it_does_not_close_a_ticket_the_customer_answered(alice, agent, ticket, now):
    ticket_reply_staff(ticket=ticket, author=agent, body="Try restarting.", now=now)
    ticket_message_add(ticket=ticket, author=alice, body="Did not help.",
                       now=now + timedelta(days=1))
    assert ticket_auto_close(ticket=ticket, now=now + timedelta(days=30)) is False
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


def test_the_quiet_period_is_configurable(agent, ticket, now, settings):
    settings.SUPPORT_TICKET_AUTO_CLOSE_DAYS = 2
    ticket_reply_staff(ticket=ticket, author=agent, body="Done?", now=now)
    assert ticket_auto_close(ticket=ticket, now=now + timedelta(days=2)) is True


def test_the_sweep_closes_due_tickets_when_run_twice(alice, agent, ticket, now, time_machine):
    ticket_reply_staff(ticket=ticket, author=agent, body="Done?", now=now)
    other = ticket_open(customer=alice, subject="Other", body="Still waiting", now=now)

    time_machine.move_to(now + timedelta(days=6), tick=False)
    assert tickets_auto_close_sweep.call() == 0

    time_machine.move_to(now + timedelta(days=7, minutes=1), tick=False)
    assert tickets_auto_close_sweep.call() == 1
    assert tickets_auto_close_sweep.call() == 0
    ticket.refresh_from_db()
    other.refresh_from_db()
    assert (ticket.status, other.status) == (TicketStatus.RESOLVED, TicketStatus.OPEN)
    assert history(ticket).count(("waiting_on_customer", "resolved")) == 1


def test_tickets_for_customer_lists_only_their_tickets_with_the_conversation(
        alice, bob, agent, ticket, now, django_assert_num_queries):
    ticket_reply_staff(ticket=ticket, author=agent, body="Answer", now=now)
    ticket_open(customer=bob, subject="Bob's", body="Bob's question", now=now)
    with django_assert_num_queries(2):
        tickets = list(tickets_for_customer(customer=alice))
        conversation = [m.body for m in tickets[0].messages.all()]
    assert [t.subject for t in tickets] == ["Slow data"]
    assert conversation == ["My data is slow in Paris.", "Answer"]


def test_it_drops_nul_characters_that_the_database_cannot_store(alice, ticket, now):
    message = ticket_message_add(ticket=ticket, author=alice, body="a\x00b", now=now)
    assert message.body == "ab"
