"""Staff actions on a card: each takes effect, leaves one audit entry with who, what,
before and after, and happens once however often its form is sent."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse

from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import CardState, LedgerKind, PeriodState
from simdesk.cards.services import period_create
from simdesk.core.models import AuditEntry
from simdesk.notifications.models import Notification

from .conftest import sign_in_staff

GB = 1_000_000_000
MB = 1_000_000


@pytest.fixture
def alices_card(make_card, make_plan, alice, now):
    """alice's card has an active 1 GB, 30-day period."""
    card = make_card(owner=alice, imsi="001010123456789", msisdn="447700900123",
                     activation_code="1$smdp.example.com$MATCH-1")
    period_create(card=card, plan=make_plan(data_bytes=GB), source="test:first", now=now)
    card.refresh_from_db()
    return card


def post(client, name, card, **data):
    data.setdefault("key", str(uuid.uuid4()))
    return client.post(reverse(f"backoffice:{name}", args=[card.public_id]), data)


def test_it_shows_the_card_with_its_ledger_and_owner(client, agent, alices_card):
    sign_in_staff(client, agent)

    page = client.get(reverse("backoffice:card", args=[alices_card.public_id]))

    html = page.content.decode()
    assert page.status_code == 200
    assert alices_card.iccid in html and "alice@example.com" in html
    assert "purchase:" in html  # the ledger's credit row


def test_a_support_agent_suspends_and_resumes_with_an_audit_entry_each(
        client, agent, alices_card):
    sign_in_staff(client, agent)

    post(client, "card_suspend", alices_card, reason="fraud check")
    alices_card.refresh_from_db()
    assert alices_card.state == CardState.SUSPENDED

    post(client, "card_resume", alices_card, reason="cleared")
    alices_card.refresh_from_db()
    assert alices_card.state == CardState.ACTIVE

    entries = list(AuditEntry.objects.order_by("pk").filter(target_id=str(alices_card.public_id)))
    assert [(e.action, e.before, e.after, e.reason, e.actor) for e in entries] == [
        ("card.suspend", {"state": "active"}, {"state": "suspended"}, "fraud check", agent),
        ("card.resume", {"state": "suspended"}, {"state": "active"}, "cleared", agent),
    ]


def test_a_form_sent_twice_acts_once(client, agent, alices_card):
    sign_in_staff(client, agent)
    key = str(uuid.uuid4())

    post(client, "card_suspend", alices_card, reason="x", key=key)
    post(client, "card_resume", alices_card, reason="x", key=str(uuid.uuid4()))
    post(client, "card_suspend", alices_card, reason="x", key=key)  # the first form again

    alices_card.refresh_from_db()
    assert alices_card.state == CardState.ACTIVE
    assert AuditEntry.objects.filter(action="card.suspend").count() == 1


def test_a_billing_admin_adjusts_a_balance_keeping_the_ledger_exact(
        client, biller, alices_card):
    sign_in_staff(client, biller)
    period = alices_card.periods.get()
    key = str(uuid.uuid4())

    for _twice in range(2):
        response = post(client, "card_adjust", alices_card, period=period.public_id,
                        amount="-250 MB", reason="duplicate usage from partner", key=key)
        assert response.status_code == 302

    period.refresh_from_db()
    assert period.remaining_bytes == GB - 250 * MB
    adjustment = alices_card.ledger.get(kind=LedgerKind.ADJUSTMENT)
    assert (adjustment.bytes, adjustment.note) == (-250 * MB, "duplicate usage from partner")
    entry = AuditEntry.objects.get(action="period.adjust")
    assert entry.before["remaining_bytes"] == GB
    assert entry.after["remaining_bytes"] == GB - 250 * MB
    assert list(ledger_violations()) == []


@pytest.mark.parametrize(("amount", "reason", "message"), [
    ("lots", "r", "Write an amount such as 500 MB or 1.5 GB."),
    ("0 MB", "r", "Write an amount other than zero."),
    ("-5 GB", "r", "left to take away"),
    ("100 MB", "", "This field is required."),
])
def test_a_bad_adjustment_says_what_is_wrong_and_changes_nothing(
        client, biller, alices_card, amount, reason, message):
    sign_in_staff(client, biller)
    period = alices_card.periods.get()

    response = post(client, "card_adjust", alices_card, period=period.public_id,
                    amount=amount, reason=reason)

    assert response.status_code == 400
    assert message in response.content.decode()
    period.refresh_from_db()
    assert period.remaining_bytes == GB
    assert not AuditEntry.objects.filter(target_id=str(alices_card.public_id)).exists()


def test_it_extends_validity_by_whole_days(client, biller, alices_card):
    sign_in_staff(client, biller)
    period = alices_card.periods.get()
    ends = period.ends_at

    post(client, "card_extend", alices_card, period=period.public_id, days=3,
         reason="network outage")

    period.refresh_from_db()
    assert period.ends_at == ends + timedelta(days=3)
    entry = AuditEntry.objects.get(action="period.extend")
    assert (entry.after["days"], entry.reason) == (3, "network outage")


def test_it_refuses_to_extend_a_closed_period(client, biller, alices_card, now):
    sign_in_staff(client, biller)
    period = alices_card.periods.get()
    period.state = PeriodState.EXPIRED
    period.save(update_fields=["state"])

    response = post(client, "card_extend", alices_card, period=period.public_id, days=3,
                    reason="x")

    assert response.status_code == 400
    assert "Only an active or queued period can be extended." in response.content.decode()


def test_a_period_of_another_card_is_refused(client, biller, alices_card, make_card,
                                             make_plan, now):
    other = make_card()
    period_create(card=other, plan=make_plan(), source="test:other", now=now)
    sign_in_staff(client, biller)

    response = post(client, "card_adjust", alices_card,
                    period=other.periods.get().public_id, amount="1 GB", reason="x")

    assert response.status_code == 400
    assert "That period is not on this card." in response.content.decode()


def test_it_resends_the_activation_details_to_the_owner(client, agent, alices_card):
    sign_in_staff(client, agent)

    post(client, "card_resend_activation", alices_card)
    post(client, "card_resend_activation", alices_card)  # a second, separate request

    sent = Notification.objects.filter(user=alices_card.owner, kind="esim_activation")
    assert sent.count() == 2
    assert AuditEntry.objects.filter(action="card.resend_activation").count() == 2
