"""Refunds in the back office: the queue of customers' refund requests (approve with the
suggested amount or another, reject with a note) and refunding an order from the customer's
page (all that is left, or part). Each through the gateway once, with an audit entry, the
order and period moved, the customer e-mailed and the ledger consistent."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from simdesk.cards.models import LedgerEntry, LedgerKind, PeriodState
from simdesk.core.models import AuditEntry
from simdesk.orders.models import OrderStatus, RefundRequestStatus
from simdesk.orders.services import refund_request_create
from simdesk.payments.gateways.sandbox.models import SandboxRefund
from simdesk.payments.models import PaymentStatus, Refund
from tests.orders.conftest import GB, bought, card, make_card, make_plan, plan
from tests.orders.refund_fixtures import assert_ledger_holds, use

from .conftest import sign_in_staff

# The order tests' shop (alice's card, a 12.00 USD plan, buying on the sandbox) as fixtures here.
SHOP_FIXTURES = (bought, card, make_card, make_plan, plan)

KEY = "5f0c2a1e-9a8b-4c1d-8e2f-000000000001"
KEY2 = "5f0c2a1e-9a8b-4c1d-8e2f-000000000002"


@pytest.fixture
def staff_client(client, biller):
    return sign_in_staff(client, biller)


@pytest.fixture
def pending(bought, card, plan, alice, now, django_capture_on_commit_callbacks):
    """alice bought 5 GB / 30 days at 12.00 USD 10 days ago, used 1 GB, and asked for a
    refund 8 days ago: staff see it pending with 12.00 × 4/5 = 9.60 suggested."""
    order = bought(plan, at=now - timedelta(days=10))
    use(card, GB, at=now - timedelta(days=9))
    with django_capture_on_commit_callbacks(execute=True):
        rr = refund_request_create(customer=alice, period=order.period, reason="Not needed",
                                   now=now - timedelta(days=8))
    assert (rr.status, rr.suggested_minor) == (RefundRequestStatus.PENDING, 960)
    mail.outbox.clear()
    return rr


def _post(client, url, data, capture):
    with capture(execute=True):
        return client.post(url, data)


def _nothing_written(rr=None):
    assert not Refund.objects.exists()
    assert not SandboxRefund.objects.exists()
    assert not AuditEntry.objects.filter(action__in=["refund_request.approve",
                                                     "refund_request.reject",
                                                     "order.refund"]).exists()
    if rr is not None:
        rr.refresh_from_db()
        assert rr.status == RefundRequestStatus.PENDING


# --- The queue ------------------------------------------------------------------------------

def test_it_lists_pending_requests_with_customer_card_paid_and_suggested_amounts(
        staff_client, pending):
    response = staff_client.get(reverse("backoffice:refunds"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "alice@example.com" in page
    assert pending.period.card.iccid in page
    assert "$12.00" in page and "$9.60" in page
    assert 'value="9.60"' in page  # the approve form offers the suggested amount


def test_it_refunds_the_suggested_amount_when_staff_approve(
        staff_client, pending, biller, django_capture_on_commit_callbacks):
    response = _post(staff_client, reverse("backoffice:refund_approve", args=[pending.public_id]),
                     {"key": KEY, "amount": "9.60"}, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    pending.refresh_from_db()
    assert (pending.status, pending.amount_minor, pending.decided_by) == (
        RefundRequestStatus.REFUNDED, 960, biller)
    order = pending.order
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    pending.period.refresh_from_db()
    assert pending.period.state == PeriodState.REFUNDED
    assert Refund.objects.get().amount_minor == 960
    assert SandboxRefund.objects.get().amount_minor == 960
    entry = AuditEntry.objects.get(action="refund_request.approve")
    assert entry.actor == biller and entry.target_id == str(pending.public_id)
    assert entry.before == {"status": "pending", "amount_minor": None}
    assert entry.after["status"] == "refunded" and entry.after["amount_minor"] == 960
    assert [m.subject for m in mail.outbox] == ["[simdesk] We refunded $9.60"]
    assert_ledger_holds()


def test_it_refunds_another_amount_typed_as_a_decimal(
        staff_client, pending, django_capture_on_commit_callbacks):
    _post(staff_client, reverse("backoffice:refund_approve", args=[pending.public_id]),
          {"key": KEY, "amount": "5.5"}, django_capture_on_commit_callbacks)

    pending.refresh_from_db()
    assert (pending.status, pending.amount_minor) == (RefundRequestStatus.REFUNDED, 550)
    assert AuditEntry.objects.get(action="refund_request.approve").after["amount_minor"] == 550
    assert_ledger_holds()


def test_it_approves_once_when_the_form_is_sent_twice(
        staff_client, pending, django_capture_on_commit_callbacks):
    url = reverse("backoffice:refund_approve", args=[pending.public_id])
    first = _post(staff_client, url, {"key": KEY, "amount": "9.60"},
                  django_capture_on_commit_callbacks)
    second = _post(staff_client, url, {"key": KEY, "amount": "9.60"},
                   django_capture_on_commit_callbacks)

    assert (first.status_code, second.status_code) == (302, 302)
    assert Refund.objects.count() == 1 and SandboxRefund.objects.count() == 1
    assert AuditEntry.objects.filter(action="refund_request.approve").count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(("amount", "message"), [
    ("0", "above zero"),
    ("-1.00", "above zero"),
    ("abc", "Write an amount such as"),
    ("1.234", "USD has 2 decimal places"),
    ("12.01", "At most"),  # more than was paid: the service refuses
])
def test_it_refuses_a_bad_amount_and_writes_nothing(
        staff_client, pending, amount, message, django_capture_on_commit_callbacks):
    response = _post(staff_client, reverse("backoffice:refund_approve", args=[pending.public_id]),
                     {"key": KEY, "amount": amount}, django_capture_on_commit_callbacks)

    assert response.status_code == 400
    assert message in response.content.decode()
    _nothing_written(pending)
    assert not mail.outbox


def test_it_rejects_with_a_note_to_the_customer(
        staff_client, pending, biller, django_capture_on_commit_callbacks):
    response = _post(staff_client, reverse("backoffice:refund_reject", args=[pending.public_id]),
                     {"key": KEY, "note": "Most of the data was used."},
                     django_capture_on_commit_callbacks)

    assert response.status_code == 302
    pending.refresh_from_db()
    assert (pending.status, pending.decision_note) == (RefundRequestStatus.REJECTED,
                                                      "Most of the data was used.")
    pending.period.refresh_from_db()
    assert pending.period.state == PeriodState.ACTIVE
    assert not Refund.objects.exists()
    entry = AuditEntry.objects.get(action="refund_request.reject")
    assert entry.before["status"] == "pending" and entry.after["status"] == "rejected"
    assert entry.reason == "Most of the data was used."
    assert len(mail.outbox) == 1
    assert_ledger_holds()


def test_it_refuses_a_rejection_without_a_note(
        staff_client, pending, django_capture_on_commit_callbacks):
    response = _post(staff_client, reverse("backoffice:refund_reject", args=[pending.public_id]),
                     {"key": KEY, "note": ""}, django_capture_on_commit_callbacks)

    assert response.status_code == 400
    _nothing_written(pending)


def test_it_refuses_to_decide_a_request_twice(
        staff_client, pending, django_capture_on_commit_callbacks):
    _post(staff_client, reverse("backoffice:refund_reject", args=[pending.public_id]),
          {"key": KEY, "note": "No."}, django_capture_on_commit_callbacks)

    response = _post(staff_client, reverse("backoffice:refund_approve",
                                           args=[pending.public_id]),
                     {"key": KEY2, "amount": "9.60"}, django_capture_on_commit_callbacks)

    assert response.status_code == 400
    assert "already decided" in response.content.decode()
    assert not Refund.objects.exists()


# --- Refund an order ------------------------------------------------------------------------

@pytest.fixture
def order(bought, plan, now):
    """alice's completed order of 5 GB / 30 days at 12.00 USD, bought 2 days ago."""
    bought_order = bought(plan, at=now - timedelta(days=2))
    mail.outbox.clear()
    return bought_order


def _refund(client, order, data, capture):
    return _post(client, reverse("backoffice:order_refund", args=[order.public_id]),
                 {"key": KEY, "reason": "Network outage", **data}, capture)


def test_it_links_each_paid_order_to_its_refund_form(staff_client, order):
    page = staff_client.get(reverse("backoffice:customer", args=[order.customer.public_id]))

    assert reverse("backoffice:order_refund", args=[order.public_id]) in page.content.decode()
    form = staff_client.get(reverse("backoffice:order_refund", args=[order.public_id]))
    assert form.status_code == 200 and "$12.00" in form.content.decode()


def test_it_refunds_all_of_a_completed_order_and_ends_its_period(
        staff_client, order, biller, django_capture_on_commit_callbacks):
    response = _refund(staff_client, order, {"scope": "full", "amount": ""},
                       django_capture_on_commit_callbacks)

    assert response.status_code == 302
    order.refresh_from_db()
    order.period.refresh_from_db()
    order.payment.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.period.state == PeriodState.REFUNDED
    assert (order.payment.status, order.payment.refunded_minor) == (PaymentStatus.REFUNDED, 1200)
    refund = Refund.objects.get()
    assert (refund.amount_minor, refund.idempotency_key) == (1200, f"staff-refund:{KEY}")
    assert SandboxRefund.objects.get().amount_minor == 1200
    assert LedgerEntry.objects.get(period=order.period, kind=LedgerKind.REFUND).bytes == -5 * GB
    entry = AuditEntry.objects.get(action="order.refund")
    assert entry.actor == biller and entry.target_id == str(order.public_id)
    assert entry.before == {"status": "fulfilled", "refunded_minor": 0}
    assert entry.after["status"] == "refunded" and entry.after["refunded_minor"] == 1200
    assert entry.after["period_state"] == "refunded" and entry.reason == "Network outage"
    assert [m.subject for m in mail.outbox] == ["[simdesk] We refunded $12.00"]
    assert_ledger_holds()


def test_it_refunds_part_of_an_order_and_leaves_its_period_running(
        staff_client, order, django_capture_on_commit_callbacks):
    _refund(staff_client, order, {"scope": "partial", "amount": "2.50"},
            django_capture_on_commit_callbacks)

    order.refresh_from_db()
    order.period.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    assert order.period.state == PeriodState.ACTIVE
    assert Refund.objects.get().amount_minor == 250
    assert AuditEntry.objects.get(action="order.refund").after["refunded_minor"] == 250
    assert len(mail.outbox) == 1 and "goes on as before" in mail.outbox[0].body
    assert_ledger_holds()

    # and a later "all that is left" refunds the remaining 9.50 and ends the period
    _post(staff_client, reverse("backoffice:order_refund", args=[order.public_id]),
          {"key": KEY2, "reason": "Still broken", "scope": "full"},
          django_capture_on_commit_callbacks)
    order.refresh_from_db()
    order.period.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.period.state == PeriodState.REFUNDED
    assert sorted(Refund.objects.values_list("amount_minor", flat=True)) == [250, 950]
    assert_ledger_holds()


def test_it_refunds_an_order_once_when_the_form_is_sent_twice(
        staff_client, order, django_capture_on_commit_callbacks):
    for _ in range(2):
        response = _refund(staff_client, order, {"scope": "partial", "amount": "3.00"},
                           django_capture_on_commit_callbacks)
        assert response.status_code == 302

    assert Refund.objects.count() == 1 and SandboxRefund.objects.count() == 1
    order.payment.refresh_from_db()
    assert order.payment.refunded_minor == 300
    assert AuditEntry.objects.filter(action="order.refund").count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(("amount", "message"), [
    ("0", "above zero"),
    ("-5", "above zero"),
    ("12.01", "At most $12.00 can be refunded"),
    ("1.001", "USD has 2 decimal places"),
    ("", "Write the amount to refund"),
])
def test_it_refuses_a_bad_order_refund_amount_and_writes_nothing(
        staff_client, order, amount, message, django_capture_on_commit_callbacks):
    response = _refund(staff_client, order, {"scope": "partial", "amount": amount},
                       django_capture_on_commit_callbacks)

    assert response.status_code == 400
    assert message in response.content.decode()
    _nothing_written()
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert not mail.outbox


def test_it_refuses_decimals_of_yen(
        staff_client, bought, make_plan, now, django_capture_on_commit_callbacks):
    jpy_order = bought(make_plan("japan-3gb", data_bytes=3 * GB, prices={"JPY": 1500}),
                       at=now - timedelta(days=1), currency="JPY")

    response = _refund(staff_client, jpy_order, {"scope": "partial", "amount": "100.5"},
                       django_capture_on_commit_callbacks)

    assert response.status_code == 400
    assert "JPY has no decimal places" in response.content.decode()
    _nothing_written()

    # while a whole amount of yen is refunded exactly
    _post(staff_client, reverse("backoffice:order_refund", args=[jpy_order.public_id]),
          {"key": KEY2, "reason": "Goodwill", "scope": "partial", "amount": "500"},
          django_capture_on_commit_callbacks)
    assert Refund.objects.get().amount_minor == 500


def test_it_refuses_a_reason_left_empty(staff_client, order, django_capture_on_commit_callbacks):
    response = _post(staff_client, reverse("backoffice:order_refund", args=[order.public_id]),
                     {"key": KEY, "scope": "full", "reason": ""},
                     django_capture_on_commit_callbacks)

    assert response.status_code == 400
    _nothing_written()


def test_it_sends_staff_to_the_queue_when_the_customer_already_asked(
        staff_client, pending, django_capture_on_commit_callbacks):
    response = _refund(staff_client, pending.order, {"scope": "full"},
                       django_capture_on_commit_callbacks)

    assert response.status_code == 400
    assert "refund queue" in response.content.decode()
    _nothing_written(pending)


def test_it_has_nothing_to_refund_on_an_order_refunded_already(
        staff_client, order, django_capture_on_commit_callbacks):
    _refund(staff_client, order, {"scope": "full"}, django_capture_on_commit_callbacks)

    page = staff_client.get(reverse("backoffice:order_refund", args=[order.public_id]))
    again = _post(staff_client, reverse("backoffice:order_refund", args=[order.public_id]),
                  {"key": KEY2, "reason": "Again", "scope": "partial", "amount": "1.00"},
                  django_capture_on_commit_callbacks)

    assert "nothing left to refund" in page.content.decode()
    assert again.status_code == 400
    assert Refund.objects.count() == 1
