"""The order sweeps: due orders are found again each time, and each is handled once."""

from datetime import timedelta

from django.utils import timezone

from config.schedule import SCHEDULE
from simdesk.cards.models import Period
from simdesk.core.sweeps import sweeps_run_due
from simdesk.orders.models import Order, OrderStatus
from simdesk.orders.services import order_create, order_mark_paid
from simdesk.orders.tasks import orders_expire_sweep, orders_fulfil_sweep
from simdesk.payments.models import Payment, PaymentStatus


def test_it_lists_the_order_sweeps_in_the_schedule():
    names = {sweep.name: sweep.task for sweep in SCHEDULE}

    assert names["orders-expire"] == "simdesk.orders.tasks.orders_expire_sweep"
    assert names["orders-fulfil"] == "simdesk.orders.tasks.orders_fulfil_sweep"


def test_it_expires_overdue_orders_from_the_sweep_and_only_those(alice, card, plan):
    now = timezone.now()
    overdue = order_create(customer=alice, card=card, plan=plan, currency="USD",
                           idempotency_key="old", now=now - timedelta(hours=1))
    fresh = order_create(customer=alice, card=card, plan=plan, currency="USD",
                         idempotency_key="new", now=now)

    orders_expire_sweep.enqueue()  # tasks run inline in the test settings

    assert Order.objects.get(pk=overdue.pk).status == OrderStatus.EXPIRED
    assert Order.objects.get(pk=fresh.pk).status == OrderStatus.PENDING_PAYMENT


def test_it_fulfils_a_paid_order_the_webhook_path_missed(alice, card, plan, now):
    order = order_create(customer=alice, card=card, plan=plan, currency="USD",
                         idempotency_key="missed", now=now)
    order_mark_paid(order=order, now=now)  # paid, then the process died before fulfilling

    orders_fulfil_sweep.enqueue()
    orders_fulfil_sweep.enqueue()

    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert Period.objects.filter(source=order.reference).count() == 1


def test_it_marks_paid_and_fulfils_an_order_whose_payment_succeeded_unseen(alice, card, plan,
                                                                          now):
    # The payment's commit happened, then the process died (or the database went away)
    # before the signal's receiver marked the order paid.
    order = order_create(customer=alice, card=card, plan=plan, currency="USD",
                         idempotency_key="unseen", now=now)
    order.payment = Payment.objects.create(
        customer=alice, gateway="sandbox", amount_minor=order.total_minor, currency="USD",
        reference=order.reference, idempotency_key=f"{order.reference}:1",
        status=PaymentStatus.SUCCEEDED, succeeded_at=now)
    order.save(update_fields=["payment"])

    orders_fulfil_sweep.enqueue()
    orders_fulfil_sweep.enqueue()

    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert order.paid_at is not None
    assert Period.objects.filter(source=order.reference).count() == 1


def test_it_leaves_an_unpaid_order_alone_in_the_fulfil_sweep(alice, card, plan, now):
    order = order_create(customer=alice, card=card, plan=plan, currency="USD",
                         idempotency_key="unpaid", now=now)
    order.payment = Payment.objects.create(
        customer=alice, gateway="sandbox", amount_minor=order.total_minor, currency="USD",
        reference=order.reference, idempotency_key=f"{order.reference}:1",
        status=PaymentStatus.FAILED)
    order.save(update_fields=["payment"])

    orders_fulfil_sweep.enqueue()

    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert not Period.objects.filter(source=order.reference).exists()


def test_it_runs_the_order_sweeps_from_the_clock(alice, card, plan):
    order = order_create(customer=alice, card=card, plan=plan, currency="USD",
                         idempotency_key="clock", now=timezone.now() - timedelta(hours=1))
    orders = [sweep for sweep in SCHEDULE if sweep.name.startswith("orders-")]

    assert sweeps_run_due(schedule=orders, now=timezone.now()) == [
        "orders-expire", "orders-fulfil", "orders-plan-change-refunds"]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.EXPIRED
