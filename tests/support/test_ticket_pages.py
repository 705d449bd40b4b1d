"""The portal's support pages: list, new request, one ticket with its conversation and reply
form. Plain forms (no JavaScript), CSRF on every POST, someone else's ticket is a 404."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from simdesk.support.models import BODY_MAX_LENGTH, Ticket, TicketStatus
from simdesk.support.services import ticket_open, ticket_reply_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(now):
    with time_machine.travel(now, tick=False):
        yield now


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def ticket(alice, now):
    return ticket_open(customer=alice, subject="Slow data", body="My data is slow.", now=now)


def test_it_opens_a_ticket_about_a_card_and_shows_the_conversation(alice_client, alice_card,
                                                                    clock):
    page = alice_client.get(reverse("portal:support_ticket_new") + f"?card={alice_card.public_id}")
    assert page.status_code == 200
    assert f'value="card:{alice_card.public_id}" selected' in page.content.decode()

    response = alice_client.post(reverse("portal:support_ticket_new"), {
        "subject": "No signal", "about": f"card:{alice_card.public_id}",
        "body": "No signal since this morning.\r\nPlease help."})
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:support_ticket", args=[ticket.public_id])
    assert ticket.card == alice_card
    assert ticket.status == TicketStatus.OPEN

    page = alice_client.get(response["Location"]).content.decode()
    assert "No signal since this morning.<br>Please help." in page
    assert "Travel phone" in page
    assert "Open" in page


def test_it_lists_the_customers_tickets(alice_client, ticket, bob, now):
    ticket_open(customer=bob, subject="Bob's secret", body="…", now=now)
    page = alice_client.get(reverse("portal:support_tickets")).content.decode()
    assert "Slow data" in page
    assert "Bob&#x27;s secret" not in page and "Bob's secret" not in page


@pytest.mark.parametrize("name", ["portal:support_ticket", "portal:support_ticket_reply",
                                  "portal:support_ticket_close"])
def test_it_answers_404_for_another_customers_ticket(client, bob, ticket, name):
    client.force_login(bob)
    response = (client.get if name == "portal:support_ticket" else client.post)(
        reverse(name, args=[ticket.public_id]), {"body": "Hijack"})
    assert response.status_code == 404
    assert ticket.messages.count() == 1


def test_it_sends_anonymous_visitors_to_sign_in(client, ticket):
    response = client.get(reverse("portal:support_ticket", args=[ticket.public_id]))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_a_customer_reply_reopens_a_ticket_waiting_on_them(alice_client, agent, ticket, clock):
    ticket_reply_staff(ticket=ticket, author=agent, body="Which country?", now=clock)
    page = alice_client.get(reverse("portal:support_ticket", args=[ticket.public_id]))
    assert "Which country?" in page.content.decode()
    assert "Waiting for your reply" in page.content.decode()

    response = alice_client.post(reverse("portal:support_ticket_reply", args=[ticket.public_id]),
                                 {"body": "France."})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert [m.body for m in ticket.messages.all()][-1] == "France."


@pytest.mark.parametrize(("body", "error"), [
    ("", "Write your message before sending it."),
    ("   ", "Write your message before sending it."),
    ("x" * (BODY_MAX_LENGTH + 1), f"at most {BODY_MAX_LENGTH} characters long; this one has "
                                  f"{BODY_MAX_LENGTH + 1} characters"),
])
def test_it_explains_an_empty_or_oversized_reply(alice_client, ticket, body, error):
    response = alice_client.post(reverse("portal:support_ticket_reply", args=[ticket.public_id]),
                                 {"body": body})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert ticket.messages.count() == 1


def test_it_explains_a_missing_subject_and_message_on_a_new_ticket(alice_client):
    response = alice_client.post(reverse("portal:support_ticket_new"), {"subject": "", "body": ""})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Say in a few words what your question is about." in page
    assert "Write your message before sending it." in page
    assert not Ticket.objects.exists()


def test_it_refuses_another_customers_card_as_the_subject_of_a_ticket(alice_client, bob_card):
    response = alice_client.post(reverse("portal:support_ticket_new"), {
        "subject": "Hi", "body": "Hello", "about": f"card:{bob_card.public_id}"})
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_it_shows_errors_in_the_customers_language(alice, client, ticket):
    alice.language = "zh-hans"
    alice.save(update_fields=["language"])
    client.force_login(alice)
    response = client.post(reverse("portal:support_ticket_reply", args=[ticket.public_id]),
                           {"body": ""})
    assert response.status_code == 400
    assert '<html lang="zh-hans">' in response.content.decode()


def test_every_form_needs_its_csrf_token(alice, ticket):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    page = client.get(reverse("portal:support_ticket", args=[ticket.public_id])).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 2  # reply and "answered" forms
    for name, data in [("portal:support_ticket_reply", {"body": "Hi"}),
                       ("portal:support_ticket_close", {})]:
        response = client.post(reverse(name, args=[ticket.public_id]), data)
        assert response.status_code == 403
    response = client.post(reverse("portal:support_ticket_new"), {"subject": "a", "body": "b"})
    assert response.status_code == 403
    assert Ticket.objects.count() == 1 and ticket.messages.count() == 1


def test_the_customer_can_say_the_question_is_answered(alice_client, ticket, clock):
    response = alice_client.post(reverse("portal:support_ticket_close", args=[ticket.public_id]))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED


def test_it_rejects_a_malformed_ticket_id_with_404(alice_client):
    assert alice_client.get("/support/not-a-uuid/").status_code == 404


# --- Staff reply from the admin --------------------------------------------------------------

def test_staff_reply_from_the_admin_ticket_page_e_mails_the_customer(
        client, agent, ticket, mailoutbox, django_capture_on_commit_callbacks, clock):
    client.force_login(agent)
    url = reverse("admin:support_ticket_change", args=[ticket.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "My data is slow." in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"reply": "Please restart your phone."})
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.WAITING_ON_CUSTOMER
    assert [m.body for m in ticket.messages.filter(from_staff=True)] == [
        "Please restart your phone."]
    assert len(mailoutbox) == 1 and "Please restart your phone." in mailoutbox[0].body


def test_staff_can_resolve_from_the_admin_and_an_oversized_reply_is_explained(
        client, agent, ticket, clock):
    client.force_login(agent)
    url = reverse("admin:support_ticket_change", args=[ticket.pk])
    response = client.post(url, {"reply": "x" * (BODY_MAX_LENGTH + 1)})
    assert response.status_code == 200
    assert "Shorten it" in response.content.decode()
    response = client.post(url, {"reply": "", "resolve": "on"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.events.order_by("-id").first().actor == agent


def test_the_admin_action_resolves_selected_tickets(client, agent, ticket, clock):
    client.force_login(agent)
    response = client.post(reverse("admin:support_ticket_changelist"),
                           {"action": "resolve_selected", "_selected_action": [ticket.pk]})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.resolved_at == clock + timedelta(0)


def test_the_order_page_links_to_a_new_ticket_about_that_order(alice_client, alice, alice_card,
                                                               france_plan, now):
    from simdesk.orders.services import order_create

    order = order_create(customer=alice, card=alice_card, plan=france_plan, currency="USD",
                         coupon_code="", idempotency_key="k1", now=now, language="en")
    page = alice_client.get(reverse("portal:order_detail", args=[order.public_id]))
    link = reverse("portal:support_ticket_new") + f"?order={order.public_id}"
    assert link in page.content.decode()
    form = alice_client.get(link).content.decode()
    assert f'value="order:{order.public_id}" selected' in form
    alice_client.post(reverse("portal:support_ticket_new"), {
        "subject": "Charged twice?", "about": f"order:{order.public_id}", "body": "Was I?"})
    assert Ticket.objects.get().order == order


@pytest.mark.parametrize("about", ["card:not-a-uuid", "order:00000000-0000-0000-0000-000000000000",
                                   "nonsense"])
def test_a_tampered_about_value_is_a_form_error_not_a_crash(alice_client, about):
    response = alice_client.post(reverse("portal:support_ticket_new"),
                                 {"subject": "Hi", "body": "Hello", "about": about})
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_a_nul_character_is_refused_politely(alice_client, ticket):
    response = alice_client.post(reverse("portal:support_ticket_reply", args=[ticket.public_id]),
                                 {"body": "bad\x00byte"})
    assert response.status_code == 400
    assert ticket.messages.count() == 1


def test_replying_needs_a_post(alice_client, ticket):
    url = reverse("portal:support_ticket_reply", args=[ticket.public_id])
    assert alice_client.get(url).status_code == 405


def test_links_in_a_staff_reply_are_clickable_and_markup_is_not(alice_client, agent, ticket,
                                                                 clock):
    ticket_reply_staff(ticket=ticket, author=agent, now=clock,
                       body="See https://help.example.com/apn <script>alert(1)</script>")
    page = alice_client.get(reverse("portal:support_ticket", args=[ticket.public_id]))
    html = page.content.decode()
    assert '<a href="https://help.example.com/apn"' in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
