"""Thin jobs: sweeps find due work again; per-item jobs call one service."""

import logging

from django_tasks import task

from simdesk.core.clock import utcnow

logger = logging.getLogger(__name__)


@task()
def webhook_events_retry_sweep() -> int:
    """Enqueue one processing job per failed webhook event whose retry time has come."""
    from .selectors import webhook_events_due

    count = 0
    for event_id in webhook_events_due(now=utcnow()).values_list("pk", flat=True).iterator():
        webhook_event_process.enqueue(event_id=event_id)
        count += 1
    return count


@task()
def webhook_event_process(event_id: int) -> None:
    from .models import InboundWebhookEvent
    from .services import webhook_event_process as process

    event = InboundWebhookEvent.objects.filter(pk=event_id).first()
    if event is not None:
        process(event=event, now=utcnow())


@task()
def payments_reconcile_sweep() -> int:
    """Enqueue one reconciliation per payment whose outcome is unknown for too long."""
    from .selectors import payments_to_reconcile
    from .services.payments import reconcile_after

    count = 0
    for payment_id in payments_to_reconcile(now=utcnow(), after=reconcile_after()).values_list(
        "pk", flat=True
    ).iterator():
        payment_reconcile.enqueue(payment_id=payment_id)
        count += 1
    return count


@task()
def payment_reconcile(payment_id: int) -> None:
    from .models import Payment
    from .services import payment_reconcile as reconcile

    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is not None:
        reconcile(payment=payment, now=utcnow())


@task()
def sandbox_webhook_deliver(delivery_id: int) -> str:
    """Send one copy; after a failure, queue the retry for its backoff time."""
    from .gateways.sandbox.services import FAILED, sandbox_delivery_enqueue, sandbox_delivery_try

    outcome = sandbox_delivery_try(delivery_id=delivery_id, now=utcnow())
    # Only the job that made the failed attempt queues the next one, so jobs never multiply.
    if outcome == FAILED and sandbox_webhook_deliver.get_backend().supports_defer:
        sandbox_delivery_enqueue(delivery_id=delivery_id)
    return outcome


@task()
def sandbox_webhook_deliveries_sweep() -> int:
    """Enqueue a delivery job for every sandbox webhook copy that is due (first or retry)."""
    from .gateways.sandbox.services import sandbox_deliveries_due

    count = 0
    for delivery_id in sandbox_deliveries_due(now=utcnow()).values_list(
        "pk", flat=True
    ).iterator():
        sandbox_webhook_deliver.enqueue(delivery_id=delivery_id)
        count += 1
    return count
