"""Thin tasks for network requests: one per request, and the clock's retry sweep."""

from django_tasks import task

from simdesk.core.clock import utcnow


@task()
def network_action_perform_task(action_id: int) -> bool:
    from .services import network_action_perform

    return network_action_perform(action_id=action_id, now=utcnow())


@task()
def network_actions_retry_sweep() -> int:
    """Enqueue every network request that is due: new, to retry, or stuck."""
    from .services import network_actions_due

    count = 0
    for pk in network_actions_due(now=utcnow()).values_list("pk", flat=True).iterator():
        network_action_perform_task.enqueue(action_id=pk)
        count += 1
    return count
