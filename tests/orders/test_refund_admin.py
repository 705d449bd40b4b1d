"""Staff decide refund requests in the admin, through actions that call the services."""

from datetime import timedelta

import pytest
from django.core import mail

from simdesk.orders.models import RefundRequest, RefundRequestStatus
from simdesk.orders.services import refund_request_create
from tests.orders.conftest import GB
from tests.orders.refund_fixtures import assert_ledger_holds, use

CHANGELIST = "/admin/orders/refundrequest/"


@pytest.fixture
def agent(client, make_user, time_machine, now):
    time_machine.move_to(now + timedelta(days=4), tick=False)  # staff decide on day 4
    user = make_user("agent@example.com", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def pending(alice, bought, card, plan, now):
    """alice used 1 of her 5 GB and asked for a refund: 9.60 USD is suggested."""
    order = bought(plan, at=now)
    use(card, GB, at=now + timedelta(hours=1))
    order.period.refresh_from_db()
    return refund_request_create(customer=alice, period=order.period, reason="Moving",
                                 now=now + timedelta(days=3))


def act(client, action, rr, **extra):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [rr.pk], **extra},
                       follow=True)


def test_it_approves_with_an_amount_staff_enter(client, agent, pending,
                                                django_capture_on_commit_callbacks):
    assert pending.suggested_minor == 960
    form = act(client, "approve", pending).content.decode()
    assert 'name="amount_minor"' in form and 'value="960"' in form and "Moving" in form
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        done = act(client, "approve", pending, apply="1", amount_minor="700", note="Goodwill")

    assert "Refunded $7.00" in done.content.decode()
    pending.refresh_from_db()
    assert (pending.status, pending.amount_minor, pending.decided_by) == (
        RefundRequestStatus.REFUNDED, 700, agent)
    assert [m.subject for m in mail.outbox] == ["[simdesk] We refunded $7.00"]
    assert_ledger_holds()


def test_it_shows_a_too_large_amount_as_a_form_error(client, agent, pending):
    page = act(client, "approve", pending, apply="1", amount_minor="5000")

    assert "At most $12.00 can be refunded" in page.content.decode()
    pending.refresh_from_db()
    assert pending.status == RefundRequestStatus.PENDING


def test_it_approves_the_suggested_amount_in_one_click(client, agent, pending):
    act(client, "approve_suggested", pending)

    pending.refresh_from_db()
    assert (pending.status, pending.amount_minor) == (RefundRequestStatus.REFUNDED, 960)


def test_it_rejects_with_a_note_to_the_customer(client, agent, pending,
                                               django_capture_on_commit_callbacks):
    assert 'name="note"' in act(client, "reject", pending).content.decode()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        act(client, "reject", pending, apply="1", note="Data was used abroad")

    pending.refresh_from_db()
    assert (pending.status, pending.decision_note) == (RefundRequestStatus.REJECTED,
                                                       "Data was used abroad")
    assert "Data was used abroad" in mail.outbox[0].body


def test_it_lets_nobody_edit_a_request_by_hand(client, agent, pending):
    response = client.post(f"{CHANGELIST}{pending.pk}/change/", {"status": "refunded"})

    assert response.status_code == 403
    assert RefundRequest.objects.get().status == RefundRequestStatus.PENDING
