"""Thin tasks: the sweep finds due deliveries again, the per-delivery task sends one."""

from django.db import transaction
from django_tasks import task

from simdesk.core.clock import utcnow

BATCH = 500


@task()
def webhook_delivery_send_task(delivery_id: int) -> bool:
    from .services import delivery_send

    return delivery_send(delivery_id=delivery_id, now=utcnow())


@task()
def webhook_deliveries_sweep() -> int:
    """Enqueue a send for every delivery that is due (a retry whose backoff has passed, or
    one whose task was lost or left by a dead worker), a batch at a time; each batch is
    marked as handed out first (see ``deliveries_mark_enqueued``)."""
    from .selectors import deliveries_due
    from .services import deliveries_mark_enqueued

    now, count, after = utcnow(), 0, 0
    # A page at a time by id, with no cursor left open across the writes below.
    due = deliveries_due(now=now).order_by("pk").values_list("pk", flat=True)
    while delivery_ids := list(due.filter(pk__gt=after)[:BATCH]):
        after = delivery_ids[-1]
        # One transaction: with the database queue, the marks and the tasks land together.
        with transaction.atomic():
            deliveries_mark_enqueued(delivery_ids=delivery_ids, now=now)
            for delivery_id in delivery_ids:
                webhook_delivery_send_task.enqueue(delivery_id=delivery_id)
        count += len(delivery_ids)
    return count
