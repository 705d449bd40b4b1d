"""Reads of outgoing webhooks."""

from datetime import datetime

from django.db.models import Q, QuerySet

from .models import DeliveryStatus, WebhookDelivery


def deliveries_due(*, now: datetime) -> QuerySet[WebhookDelivery]:
    """Deliveries to hand to a worker now: new or failed ones whose time has come, that
    nobody holds (a lease left by a stopped worker runs out) and whose send task, if one
    was handed out, has had its time (a lost task is replaced after ``ENQUEUE_LEASE``)."""
    return WebhookDelivery.objects.filter(
        Q(leased_until__isnull=True) | Q(leased_until__lte=now),
        Q(enqueued_until__isnull=True) | Q(enqueued_until__lte=now),
        status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED),
        next_attempt_at__lte=now,
    ).order_by("next_attempt_at", "id")
