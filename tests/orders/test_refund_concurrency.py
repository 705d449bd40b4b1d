"""Races that only a real database shows: the same refund asked for, approved or made by a
plan change several times at the same moment refunds the period once."""

from datetime import timedelta

import pytest

from simdesk.orders.models import RefundRequest, RefundRequestStatus
from simdesk.orders.services import (
    plan_change_order_create,
    plan_change_refund,
    refund_request_approve,
    refund_request_create,
    refund_request_reject,
)
from simdesk.payments.models import Payment, Refund
from tests.orders.conftest import GB
from tests.orders.refund_fixtures import assert_ledger_holds, pay_on_sandbox, use
from tests.orders.test_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_it_refunds_once_when_the_same_request_arrives_six_times_at_once(alice, bought, plan,
                                                                        now):
    period = bought(plan, at=now).period

    results, errors = race([lambda: refund_request_create(
        customer=alice, period=period, reason="", now=now + timedelta(days=1)).pk] * 6)

    assert errors == []
    assert len(set(results)) == 1
    assert RefundRequest.objects.get().status == RefundRequestStatus.REFUNDED
    assert Refund.objects.count() == 1
    assert Payment.objects.get().refunded_minor == 1200
    assert_ledger_holds()


def test_it_decides_once_when_staff_approve_and_reject_at_the_same_moment(
        alice, bought, card, plan, make_user, now):
    staff = make_user("agent@example.com", is_staff=True)
    period = bought(plan, at=now).period
    use(card, GB, at=now + timedelta(hours=1))
    period.refresh_from_db()
    rr = refund_request_create(customer=alice, period=period, now=now + timedelta(days=1))
    later = now + timedelta(days=2)

    def approve():
        return refund_request_approve(request=rr, amount_minor=900, acting_user=staff,
                                      now=later).status

    def reject():
        return refund_request_reject(request=rr, acting_user=staff, now=later).status

    results, errors = race([approve, approve, approve, reject, reject])

    rr.refresh_from_db()
    # exactly one kind of decision stood; the other kind was refused as already decided
    assert rr.status in (RefundRequestStatus.REFUNDED, RefundRequestStatus.REJECTED)
    assert set(results) == {rr.status}
    assert all(getattr(e, "code", "") == "refund_request_decided" for e in errors)
    assert Refund.objects.count() == (1 if rr.status == RefundRequestStatus.REFUNDED else 0)
    assert Payment.objects.get().refunded_minor == (900 if Refund.objects.exists() else 0)
    assert_ledger_holds()


def test_it_refunds_a_plan_change_once_when_the_refund_runs_four_times_at_once(
        alice, bought, plan, make_plan, now, django_capture_on_commit_callbacks, monkeypatch):
    from simdesk.orders.services import plan_change as module

    bigger = make_plan("europe-10gb-30d", data_bytes=10 * GB, prices={"USD": 2000})
    old = bought(plan, at=now).period
    order = plan_change_order_create(customer=alice, period=old, plan=bigger, currency="USD",
                                     idempotency_key="race", now=now + timedelta(days=15))
    # the after-commit refund is held back, so that only the racers make it
    monkeypatch.setattr(module, "plan_change_refund_after_commit", lambda **kwargs: None)
    monkeypatch.setattr("simdesk.orders.services.fulfil.plan_change_refund_after_commit",
                        lambda **kwargs: None)
    order = pay_on_sandbox(order, now=now + timedelta(days=15),
                           capture=django_capture_on_commit_callbacks)
    assert order.plan_change_refund_minor == 600

    results, errors = race([lambda: plan_change_refund(
        order=order, now=now + timedelta(days=15, minutes=1)).pk] * 4)

    assert errors == []
    assert len(set(results)) == 1
    assert Refund.objects.count() == 1
    assert Payment.objects.get(amount_minor=1200).refunded_minor == 600
    assert_ledger_holds()
