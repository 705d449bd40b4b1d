"""Order jobs. Sweeps find due orders and enqueue one task per order; each task calls
one service, which locks the order row and checks it is still due (so a lost or
doubled job changes nothing)."""

from django_tasks import task

from simdesk.core.clock import utcnow

BATCH = 500


@task()
def order_expire_task(order_id: int) -> str:
    from .models import Order
    from .services import order_expire

    order = Order.objects.filter(pk=order_id).first()
    return order_expire(order=order, now=utcnow()).status if order else "missing"


@task()
def orders_expire_sweep() -> int:
    """Unpaid orders past their deadline (every minute)."""
    from .selectors import orders_due_to_expire

    ids = list(orders_due_to_expire(now=utcnow()).values_list("pk", flat=True)[:BATCH])
    for order_id in ids:
        order_expire_task.enqueue(order_id)
    return len(ids)


@task()
def order_fulfil_task(order_id: int) -> str:
    from .models import Order
    from .services import order_fulfil

    order = Order.objects.filter(pk=order_id).first()
    return order_fulfil(order=order, now=utcnow()).status if order else "missing"


@task()
def order_confirm_task(order_id: int) -> str:
    from .models import Order
    from .services import order_payment_confirmed

    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return "missing"
    return order_payment_confirmed(order=order, now=utcnow(),
                                   note="payment succeeded, found by the sweep").status


@task()
def orders_fulfil_sweep() -> int:
    """Paid orders still without their period get another try; orders whose payment
    succeeded but were never marked paid (the process died after the payment's commit)
    are marked paid and fulfilled."""
    from .selectors import orders_paid_not_fulfilled, orders_payment_succeeded_not_paid

    ids = list(orders_paid_not_fulfilled(now=utcnow()).values_list("pk", flat=True)[:BATCH])
    for order_id in ids:
        order_fulfil_task.enqueue(order_id)
    unmarked = list(orders_payment_succeeded_not_paid().values_list("pk", flat=True)[:BATCH])
    for order_id in unmarked:
        order_confirm_task.enqueue(order_id)
    return len(ids) + len(unmarked)


@task()
def plan_change_refund_task(order_id: int) -> str:
    from .models import Order
    from .services import plan_change_refund

    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return "missing"
    refund_request = plan_change_refund(order=order, now=utcnow())
    return refund_request.status if refund_request else "nothing to refund"


@task()
def plan_changes_refund_sweep() -> int:
    """Plan changes whose old period's refund was not made after commit get another try."""
    from .services import plan_changes_refund_due

    ids = plan_changes_refund_due()
    for order_id in ids:
        plan_change_refund_task.enqueue(order_id)
    return len(ids)
