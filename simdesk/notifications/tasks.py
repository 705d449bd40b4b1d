"""Thin tasks: the sweep finds due messages again, the per-message task sends one."""

from django_tasks import task

from simdesk.core.clock import utcnow


@task()
def notification_send_task(notification_id: int) -> bool:
    from .services import notification_send

    return notification_send(notification_id=notification_id, now=utcnow())


@task()
def notifications_retry_sweep() -> int:
    """Enqueue a send for every message that is due (new, to retry, or stuck)."""
    from .selectors import notifications_due

    count = 0
    for pk in notifications_due(now=utcnow()).values_list("pk", flat=True).iterator():
        notification_send_task.enqueue(notification_id=pk)
        count += 1
    return count
