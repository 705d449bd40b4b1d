"""Plan change "now": a paid order for the new plan that, once fulfilled, starts the new
period at once, closes the old one and refunds its unused part exactly as quoted."""

from datetime import timedelta

import pytest
from django.core import mail

from simdesk.cards.models import PeriodState
from simdesk.core.errors import NotFound, ServiceError
from simdesk.orders.models import Order, OrderStatus, RefundCause, RefundRequest
from simdesk.orders.services import (
    plan_change_order_create,
    plan_change_refund,
    plan_changes_refund_due,
)
from simdesk.payments.models import Refund
from tests.orders.conftest import GB
from tests.orders.refund_fixtures import assert_ledger_holds, pay_on_sandbox, use


@pytest.fixture
def bigger(make_plan):
    """A 10 GB, 30-day plan at 20.00 USD / 3000 JPY."""
    return make_plan("europe-10gb-30d", data_bytes=10 * GB, prices={"USD": 2000, "JPY": 3000})


@pytest.fixture
def change(alice):
    def open_order(period, plan, *, at, key="change-1", currency="USD", customer=None):
        return plan_change_order_create(customer=customer or alice, period=period, plan=plan,
                                        currency=currency, idempotency_key=key, now=at)

    return open_order


def test_it_starts_the_new_plan_at_once_and_refunds_the_old_one_as_quoted(
        bought, card, plan, bigger, change, now, django_capture_on_commit_callbacks):
    # given alice bought 5 GB / 30 days for 12.00 USD and used 1 GB by day 10
    old_order = bought(plan, at=now)
    use(card, GB, at=now + timedelta(days=5))
    old = old_order.period
    old.refresh_from_db()

    # when she changes to 10 GB now, on day 10: quoted 12.00 × min(20/30, 4/5) = 8.00
    day10 = now + timedelta(days=10)
    order = change(old, bigger, at=day10)
    assert (order.replaces_period, order.plan_change_refund_minor) == (old, 800)
    assert order.total_minor == 2000 and order.status == OrderStatus.PENDING_PAYMENT
    mail.outbox.clear()

    # and pays for it two minutes later
    order = pay_on_sandbox(order, now=day10 + timedelta(minutes=2),
                           capture=django_capture_on_commit_callbacks)

    # then the new period is active at once and the old one refunded
    assert order.status == OrderStatus.FULFILLED
    assert order.period.state == PeriodState.ACTIVE
    assert order.period.starts_at == day10 + timedelta(minutes=2)
    old.refresh_from_db()
    assert old.state == PeriodState.REFUNDED and old.remaining_bytes == 0
    # and exactly the 8.00 shown went back to the old order's payment
    rr = RefundRequest.objects.get(period=old)
    assert (rr.cause, rr.status, rr.amount_minor) == (RefundCause.PLAN_CHANGE, "refunded", 800)
    old_order.refresh_from_db()
    assert old_order.status == OrderStatus.PARTIALLY_REFUNDED
    assert old_order.payment.refunded_minor == 800
    assert Refund.objects.get().payment == old_order.payment
    assert "[simdesk] We refunded $8.00" in [m.subject for m in mail.outbox]
    assert_ledger_holds()


def test_it_counts_data_used_while_the_customer_was_paying(
        bought, card, plan, bigger, change, now, django_capture_on_commit_callbacks):
    old_order = bought(plan, at=now)
    day10 = now + timedelta(days=10)
    order = change(old_order.period, bigger, at=day10)
    assert order.plan_change_refund_minor == 800  # 12.00 × 20/30 days, no data used yet

    # 4 of the 5 GB are used before the payment arrives: the data share (1/5) now wins
    use(card, 4 * GB, at=day10 + timedelta(minutes=1))
    order = pay_on_sandbox(order, now=day10 + timedelta(minutes=5),
                           capture=django_capture_on_commit_callbacks)

    assert order.plan_change_refund_minor == 240
    assert RefundRequest.objects.get().amount_minor == 240
    assert_ledger_holds()


def test_it_refunds_an_unlimited_period_by_its_days_in_yen(
        bought, card, make_plan, bigger, change, now, django_capture_on_commit_callbacks):
    unlimited = make_plan("japan-unlimited-7d", data_bytes=None, fair_use_bytes=GB,
                          throttle_kbps=512, validity_days=7, prices={"JPY": 1000})
    old_order = bought(unlimited, at=now, currency="JPY")
    use(card, GB // 2, at=now + timedelta(hours=1))

    order = change(old_order.period, bigger, at=now + timedelta(days=2), currency="JPY")
    order = pay_on_sandbox(order, now=now + timedelta(days=2),
                           capture=django_capture_on_commit_callbacks)

    # 1000 yen × 5/7 days = 714.28… → 714 yen (rounded down)
    assert order.plan_change_refund_minor == 714
    assert RefundRequest.objects.get().amount_minor == 714
    assert_ledger_holds()


def test_it_opens_one_order_when_the_change_is_submitted_twice(
        bought, plan, bigger, change, now):
    old = bought(plan, at=now).period

    first = change(old, bigger, at=now + timedelta(days=1))
    second = change(old, bigger, at=now + timedelta(days=1, seconds=3))

    assert second.pk == first.pk
    assert second.plan_change_refund_minor == first.plan_change_refund_minor
    assert Order.objects.filter(replaces_period=old).count() == 1


def test_it_refunds_once_when_the_refund_runs_again(
        bought, plan, bigger, change, now, django_capture_on_commit_callbacks):
    old = bought(plan, at=now).period
    order = pay_on_sandbox(change(old, bigger, at=now + timedelta(days=1)),
                           now=now + timedelta(days=1),
                           capture=django_capture_on_commit_callbacks)

    again = plan_change_refund(order=order, now=now + timedelta(days=1, minutes=1))

    assert again == RefundRequest.objects.get()
    assert Refund.objects.count() == 1
    assert plan_changes_refund_due() == []


def test_it_leaves_a_failed_refund_to_the_sweep(bought, plan, bigger, change, now,
                                                django_capture_on_commit_callbacks,
                                                monkeypatch, time_machine):
    from simdesk.orders.services import plan_change as module
    from simdesk.orders.tasks import plan_changes_refund_sweep as plans_changes_sweep

    old = bought(plan, at=now).period
    order = change(old, bigger, at=now + timedelta(days=1))

    def gateway_down(**kwargs):
        raise RuntimeError("connection reset")

    # given the refund fails right after the fulfilment committed
    monkeypatch.setattr(module, "_refund_execute", gateway_down)
    order = pay_on_sandbox(order, now=now + timedelta(days=1),
                           capture=django_capture_on_commit_callbacks)
    assert order.status == OrderStatus.FULFILLED  # the new plan runs anyway
    assert plan_changes_refund_due() == [order.pk]

    # when the clock's sweep runs five minutes later with the gateway back
    monkeypatch.undo()
    time_machine.move_to(now + timedelta(days=1, minutes=5), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert plans_changes_sweep.enqueue().return_value == 1

    # then it is refunded, once
    assert Refund.objects.count() == 1 and plan_changes_refund_due() == []
    assert_ledger_holds()


def test_it_starts_the_new_plan_and_refunds_nothing_when_the_old_one_ended_before_payment(
        bought, plan, bigger, change, now, django_capture_on_commit_callbacks):
    # given alice opened the change on the last day, and paid after the old plan's end
    old = bought(plan, at=now).period
    order = change(old, bigger, at=now + timedelta(days=29, hours=23, minutes=50))
    assert order.plan_change_refund_minor == 0  # 10 minutes of 30 days: 0.0027 → 0.00

    order = pay_on_sandbox(order, now=now + timedelta(days=30, minutes=5),
                           capture=django_capture_on_commit_callbacks)

    # then the new plan runs, the old one simply expired, nothing is refunded
    assert order.status == OrderStatus.FULFILLED
    assert order.period.state == PeriodState.ACTIVE
    old.refresh_from_db()
    assert old.state == PeriodState.EXPIRED
    assert Refund.objects.count() == 0
    assert_ledger_holds()


def test_it_closes_an_old_plan_that_ran_out_after_the_quote(
        bought, card, plan, bigger, change, now, django_capture_on_commit_callbacks):
    old = bought(plan, at=now).period
    order = change(old, bigger, at=now + timedelta(days=3))
    use(card, 5 * GB, at=now + timedelta(days=3, minutes=1))  # all the data, while paying

    order = pay_on_sandbox(order, now=now + timedelta(days=3, minutes=2),
                           capture=django_capture_on_commit_callbacks)

    assert order.status == OrderStatus.FULFILLED and order.plan_change_refund_minor == 0
    old.refresh_from_db()
    assert old.state == PeriodState.EXHAUSTED
    assert Refund.objects.count() == 0
    assert_ledger_holds()


# --- Refusals -----------------------------------------------------------------------------

def test_it_does_not_find_another_customers_period(bought, plan, bigger, change, bob, now):
    old = bought(plan, at=now).period

    with pytest.raises(NotFound):
        change(old, bigger, at=now, customer=bob)
    assert not Order.objects.filter(replaces_period=old).exists()


@pytest.mark.parametrize("what", ["same plan", "top-up", "something queued", "unsold currency"])
def test_it_refuses_a_change_it_cannot_make_with_a_clear_reason(
        bought, plan, make_plan, change, now, what):
    from simdesk.catalog.models import PlanKind, Stacking

    old = bought(plan, at=now).period
    target = make_plan("other", prices={"USD": 900})
    currency = "USD"
    if what == "same plan":
        target = plan
    elif what == "top-up":
        target = make_plan("topup-1gb", kind=PlanKind.TOPUP, stacking=Stacking.EXTEND,
                           data_bytes=GB)
    elif what == "something queued":
        bought(make_plan("next", prices={"USD": 500}), at=now + timedelta(hours=1))
    else:
        currency = "JPY"

    with pytest.raises(ServiceError) as refused:
        change(old, target, at=now + timedelta(days=1), currency=currency)

    assert str(refused.value.message)
    assert not Order.objects.filter(replaces_period=old).exists()
