"""Refund requests: unused and recent → refunded in full at once; otherwise staff decide with
the pro-rata amount suggested. Each path refunds once, closes the period, moves the order
and e-mails the customer; the ledger holds after each."""

from datetime import timedelta

import pytest
from django.core import mail

from simdesk.cards.models import LedgerEntry, LedgerKind, PeriodState
from simdesk.cards.services import periods_advance
from simdesk.core.errors import Conflict, NotFound, ServiceError
from simdesk.orders.models import OrderStatus, RefundRequest, RefundRequestStatus
from simdesk.orders.services import (
    refund_request_approve,
    refund_request_create,
    refund_request_reject,
)
from simdesk.payments.gateways.sandbox.models import SandboxCharge
from simdesk.payments.models import PaymentStatus, Refund
from tests.orders.conftest import GB
from tests.orders.refund_fixtures import assert_ledger_holds, use


@pytest.fixture
def staff(make_user):
    return make_user("agent@example.com", is_staff=True)


@pytest.fixture
def ask(alice, django_capture_on_commit_callbacks):
    """ask(period, at=…) → alice asks for a refund of ``period``, e-mails sent."""

    def request(period, *, at, customer=None, reason="Not needed any more"):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            rr = refund_request_create(customer=customer or alice, period=period,
                                       reason=reason, now=at)
        rr.refresh_from_db()
        return rr

    return request


def _reload(order):
    order.refresh_from_db()
    order.period.refresh_from_db()
    order.payment.refresh_from_db()
    return order


# --- Automatic: unused and within the window -------------------------------------------------

def test_it_refunds_an_unused_period_in_full_at_once_within_the_window(
        bought, plan, ask, now):
    # given alice bought 5 GB / 30 days at 12.00 USD and used nothing
    order = bought(plan, at=now)

    # when she asks for a refund 3 days later
    rr = ask(order.period, at=now + timedelta(days=3))

    # then all 12.00 goes back to her payment, the period is refunded, the order too
    assert (rr.status, rr.automatic, rr.amount_minor) == (RefundRequestStatus.REFUNDED, True,
                                                         1200)
    order = _reload(order)
    assert order.period.state == PeriodState.REFUNDED
    assert order.status == OrderStatus.REFUNDED
    assert (order.payment.status, order.payment.refunded_minor) == (PaymentStatus.REFUNDED,
                                                                   1200)
    assert SandboxCharge.objects.get(pk__isnull=False).refunded_minor == 1200
    refund_row = LedgerEntry.objects.get(period=order.period, kind=LedgerKind.REFUND)
    assert refund_row.bytes == -5 * GB and refund_row.reference == rr.reference
    assert [m.subject for m in mail.outbox] == ["[simdesk] We refunded $12.00"]
    assert "12.00" in mail.outbox[0].body and "payment method you paid with" in mail.outbox[0].body
    assert_ledger_holds()


def test_it_refunds_in_full_a_queued_period_behind_the_one_in_use(
        bought, plan, make_plan, ask, now):
    bought(plan, at=now)
    queued = bought(make_plan("next-1gb", data_bytes=GB, prices={"USD": 500}),
                    at=now + timedelta(days=1)).period
    assert queued.state == PeriodState.QUEUED

    rr = ask(queued, at=now + timedelta(days=2))

    assert (rr.status, rr.amount_minor) == (RefundRequestStatus.REFUNDED, 500)
    queued.refresh_from_db()
    assert queued.state == PeriodState.REFUNDED
    assert_ledger_holds()


# --- Staff review -------------------------------------------------------------------------

def test_it_sends_a_used_period_to_staff_with_the_prorata_amount_suggested(
        bought, card, plan, ask, now):
    # given alice used 1 of her 5 GB
    order = bought(plan, at=now)
    use(card, GB, at=now + timedelta(days=1))

    # when she asks 3 days in (27/30 days, 4/5 data left)
    rr = ask(order.period, at=now + timedelta(days=3))

    # then staff are asked, with 12.00 × 4/5 = 9.60 suggested, and nothing moved yet
    assert (rr.status, rr.automatic, rr.suggested_minor) == (RefundRequestStatus.PENDING, False,
                                                            960)
    order = _reload(order)
    assert order.period.state == PeriodState.ACTIVE
    assert order.status == OrderStatus.FULFILLED
    assert [m.subject for m in mail.outbox] == ["[simdesk] We received your refund request"]


def test_it_sends_an_unused_period_past_the_window_to_staff(bought, plan, ask, now, settings):
    settings.REFUND_WINDOW_DAYS = 7
    order = bought(plan, at=now)

    rr = ask(order.period, at=now + timedelta(days=7, seconds=1))

    # 12.00 × (23 days − 1 s)/30 days, rounded down to the cent
    assert (rr.status, rr.suggested_minor) == (RefundRequestStatus.PENDING, 919)


def test_it_refunds_the_suggested_amount_when_staff_approve(
        bought, card, plan, ask, staff, now, django_capture_on_commit_callbacks):
    order = bought(plan, at=now)
    use(card, GB, at=now + timedelta(days=1))
    rr = ask(order.period, at=now + timedelta(days=3))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        rr = refund_request_approve(request=rr, amount_minor=rr.suggested_minor,
                                    acting_user=staff, now=now + timedelta(days=4))

    assert (rr.status, rr.amount_minor, rr.decided_by, rr.decided_at) == (
        RefundRequestStatus.REFUNDED, 960, staff, now + timedelta(days=4))
    order = _reload(order)
    assert order.period.state == PeriodState.REFUNDED
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    assert order.payment.refunded_minor == 960
    assert [m.subject for m in mail.outbox] == ["[simdesk] We refunded $9.60"]
    assert [e.to_status for e in rr.events.all()] == ["pending", "approved", "refunded"]
    assert_ledger_holds()


def test_it_refunds_the_money_of_a_period_that_expired_while_staff_decided(
        bought, card, plan, ask, staff, now):
    order = bought(plan, at=now)
    use(card, GB, at=now + timedelta(days=1))
    rr = ask(order.period, at=now + timedelta(days=25))

    rr = refund_request_approve(request=rr, amount_minor=rr.suggested_minor, acting_user=staff,
                                now=now + timedelta(days=40))

    assert (rr.status, rr.amount_minor) == (RefundRequestStatus.REFUNDED, 200)  # 12.00 × 5/30
    order = _reload(order)
    assert order.period.state == PeriodState.EXPIRED
    assert order.payment.refunded_minor == 200
    assert_ledger_holds()


def test_it_refunds_another_amount_staff_choose(bought, card, plan, ask, staff, now):
    order = bought(plan, at=now)
    use(card, 4 * GB, at=now + timedelta(days=1))
    rr = ask(order.period, at=now + timedelta(days=2))
    assert rr.suggested_minor == 240

    rr = refund_request_approve(request=rr, amount_minor=1000, acting_user=staff,
                                now=now + timedelta(days=3), note="Network outage")

    assert (rr.status, rr.amount_minor, rr.decision_note) == (RefundRequestStatus.REFUNDED,
                                                              1000, "Network outage")
    assert _reload(order).payment.refunded_minor == 1000
    assert_ledger_holds()


@pytest.mark.parametrize("amount", [0, -5, 1201, "100", 12.5, True])
def test_it_refuses_an_approval_amount_that_is_not_refundable(
        bought, card, plan, ask, staff, now, amount):
    order = bought(plan, at=now)
    use(card, GB, at=now + timedelta(days=1))
    rr = ask(order.period, at=now + timedelta(days=2))

    with pytest.raises(ServiceError):
        refund_request_approve(request=rr, amount_minor=amount, acting_user=staff,
                               now=now + timedelta(days=3))

    rr.refresh_from_db()
    assert rr.status == RefundRequestStatus.PENDING
    assert Refund.objects.count() == 0


def test_it_tells_the_customer_when_staff_reject(
        bought, card, plan, ask, staff, now, django_capture_on_commit_callbacks):
    order = bought(plan, at=now)
    use(card, GB, at=now + timedelta(days=1))
    rr = ask(order.period, at=now + timedelta(days=2))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        rr = refund_request_reject(request=rr, acting_user=staff, note="Used abroad",
                                   now=now + timedelta(days=3))

    assert (rr.status, rr.decided_by, rr.decision_note) == (RefundRequestStatus.REJECTED, staff,
                                                            "Used abroad")
    order = _reload(order)
    assert order.period.state == PeriodState.ACTIVE
    assert order.status == OrderStatus.FULFILLED and Refund.objects.count() == 0
    assert [m.subject for m in mail.outbox] == ["[simdesk] Your refund request was declined"]
    assert "Used abroad" in mail.outbox[0].body
    # and a rejected request is not approved afterwards
    with pytest.raises(Conflict):
        refund_request_approve(request=rr, amount_minor=100, acting_user=staff, now=now)
    assert refund_request_reject(request=rr, acting_user=staff, now=now).pk == rr.pk


# --- Idempotency and ownership ------------------------------------------------------------

def test_it_refunds_once_when_the_customer_asks_twice(bought, plan, ask, now):
    order = bought(plan, at=now)

    first = ask(order.period, at=now + timedelta(days=1))
    second = ask(order.period, at=now + timedelta(days=1, seconds=2))

    assert second.pk == first.pk
    assert RefundRequest.objects.count() == 1
    assert Refund.objects.count() == 1
    assert _reload(order).payment.refunded_minor == 1200
    assert mail.outbox == []  # the second ask sends nothing again


def test_it_approves_once_when_staff_click_twice(bought, card, plan, ask, staff, now):
    order = bought(plan, at=now)
    use(card, GB, at=now + timedelta(days=1))
    rr = ask(order.period, at=now + timedelta(days=2))

    refund_request_approve(request=rr, amount_minor=500, acting_user=staff, now=now)
    again = refund_request_approve(request=rr, amount_minor=500, acting_user=staff, now=now)

    assert again.status == RefundRequestStatus.REFUNDED
    assert Refund.objects.count() == 1
    assert _reload(order).payment.refunded_minor == 500
    with pytest.raises(Conflict):
        refund_request_approve(request=rr, amount_minor=600, acting_user=staff, now=now)


def test_it_does_not_find_another_customers_period(bought, plan, ask, bob, now):
    order = bought(plan, at=now)

    with pytest.raises(NotFound):
        ask(order.period, at=now, customer=bob)
    assert RefundRequest.objects.count() == 0


def test_it_refuses_a_period_that_has_ended(bought, card, plan, ask, now):
    order = bought(plan, at=now)
    periods_advance(card=card, now=now + timedelta(days=31))

    with pytest.raises(ServiceError) as refused:
        ask(order.period, at=now + timedelta(days=31))
    assert refused.value.code == "period_closed"


def test_it_refuses_an_overlong_reason(bought, plan, ask, now):
    order = bought(plan, at=now)

    with pytest.raises(ServiceError) as refused:
        ask(order.period, at=now, reason="x" * 1001)
    assert refused.value.code == "reason_too_long"
