"""Thin tasks: the sweep finds due deliveries again, the per-delivery task sends one."""

from django_tasks import task

from simdesk.core.clock import utcnow


@task()
def webhook_delivery_send_task(delivery_id: int) -> bool:
    from .services import delivery_send

    return delivery_send(delivery_id=delivery_id, now=utcnow())


@task()
def webhook_deliveries_sweep() -> int:
    """Enqueue a send for every delivery that is due (new, to retry, or left by a dead worker)."""
    from .selectors import deliveries_due

    count = 0
    for pk in deliveries_due(now=utcnow()).values_list("pk", flat=True).iterator():
        webhook_delivery_send_task.enqueue(delivery_id=pk)
        count += 1
    return count
