"""Writes for outgoing webhooks: emit an event, send a delivery, retry with backoff.

``event_emit`` is called by the domain services inside their own transaction.
Delivery happens after commit, in a task; two workers never send the same
attempt because a delivery is leased by one conditional UPDATE first.
"""

import json
import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q

from .models import (
    DeliveryStatus,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    new_signing_secret,
)
from .signing import sign
from .subscriptions import anyone_subscribes, subscriptions_forget
from .transport import TransportError, get_transport

logger = logging.getLogger(__name__)

# The wait after the n-th failed attempt; after the last one the delivery is given up
# (so 1 + len(RETRY_DELAYS) attempts in all, the last about 33 hours after the first).
RETRY_DELAYS = (
    timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
    timedelta(hours=2), timedelta(hours=6), timedelta(hours=24),
)
MAX_ATTEMPTS = 1 + len(RETRY_DELAYS)
REQUEST_TIMEOUT = 5.0  # seconds; receivers should answer at once and work later
# A leased delivery whose worker died is offered again after this long; far above
# the request timeout, so a live worker always finishes within its lease.
LEASE = timedelta(minutes=2)
EXCERPT_CHARS = 500
# How long a handed-out send task is trusted to run before the sweep enqueues another
# (a lost task delays a delivery by at most this much).
ENQUEUE_LEASE = timedelta(minutes=5)


def retry_delay(attempts: int) -> timedelta | None:
    """The wait after the ``attempts``-th failed try, or None when it was the last."""
    return RETRY_DELAYS[attempts - 1] if attempts <= len(RETRY_DELAYS) else None


def event_wanted(type: str) -> bool:
    """Whether an event of this type would be recorded: callers on hot paths ask this
    first and build the payload only when it is True (one cache read)."""
    return anyone_subscribes(type)


def event_emit(*, type: str, data: dict[str, Any], dedupe_key: str,
               now: datetime) -> WebhookEvent | None:
    """Record an event and one delivery per active endpoint subscribed to its type.

    Call it inside the transaction that makes the change: a rollback removes the
    event, and deliveries are enqueued only after commit. Idempotent by
    ``dedupe_key``, unique across all types, so start it with the type (e.g.
    ``"order.paid:<order public id>"``): a second call returns the first event and
    sends nothing more.

    Nothing is written, and None returned, when no active endpoint wants the type:
    events are not kept for endpoints registered later. That check is one cache
    read (see ``subscriptions``), so calling this on a hot path costs almost
    nothing on an installation without integrators.
    """
    if type not in EventType.values:
        raise ValueError(f"unknown webhook event type {type!r}")
    if not anyone_subscribes(type):
        return None
    endpoints = [endpoint for endpoint in WebhookEndpoint.objects.filter(active=True)
                 .only("id", "event_types") if endpoint.wants(type)]
    if not endpoints:
        return None
    return _event_record(type=type, data=data, dedupe_key=dedupe_key, endpoints=endpoints,
                         now=now)


def _event_record(*, type: str, data: dict[str, Any], dedupe_key: str,
                  endpoints: list[WebhookEndpoint], now: datetime) -> WebhookEvent:
    with transaction.atomic():
        event, created = WebhookEvent.objects.get_or_create(
            dedupe_key=dedupe_key, defaults={"type": type, "data": data, "created_at": now})
        if not created:
            return event
        deliveries = WebhookDelivery.objects.bulk_create([
            WebhookDelivery(endpoint=endpoint, event=event, next_attempt_at=now,
                            enqueued_until=now + ENQUEUE_LEASE)
            for endpoint in endpoints
        ])
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: _enqueue(ids))
    return event


def _enqueue(delivery_ids: list[int]) -> None:
    from .tasks import webhook_delivery_send_task

    for delivery_id in delivery_ids:
        webhook_delivery_send_task.enqueue(delivery_id=delivery_id)


def deliveries_mark_enqueued(*, delivery_ids: list[int], now: datetime) -> None:
    """Record that send tasks for these deliveries were handed out at ``now``."""
    WebhookDelivery.objects.filter(pk__in=delivery_ids).update(
        enqueued_until=now + ENQUEUE_LEASE)


def endpoint_set_active(*, endpoint: WebhookEndpoint, active: bool, now: datetime) -> bool:
    """Switch an endpoint on or off; True if it changed. An endpoint switched off gets no
    new events; deliveries already recorded for it are still tried (they report facts
    from while it was on). Safe to call twice."""
    updated = WebhookEndpoint.objects.filter(pk=endpoint.pk).exclude(active=active).update(
        active=active, updated_at=now)
    subscriptions_forget()  # a queryset update sends no post_save signal
    return updated == 1


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint, now: datetime) -> str:
    """Give the endpoint a new signing secret at once and return it. Deliveries from
    now on (retries included) are signed with it, so the integrator must switch too."""
    secret = new_signing_secret()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=secret, updated_at=now)
    return secret


def webhook_test_send(*, endpoint: WebhookEndpoint, now: datetime) -> WebhookEvent:
    """Send a ``webhook.test`` event to this one endpoint, whatever it subscribes to
    and even when inactive (staff check it before switching it on). Each call is a
    new event."""
    return _event_record(type=EventType.WEBHOOK_TEST,
                         data={"endpoint": str(endpoint.public_id), "message": "test event"},
                         dedupe_key=f"{EventType.WEBHOOK_TEST}:{uuid.uuid4().hex}",
                         endpoints=[endpoint], now=now)


def event_body(event: WebhookEvent) -> bytes:
    """The JSON document POSTed for an event; the signature covers exactly these bytes."""
    return json.dumps({
        "id": event.event_id,
        "type": event.type,
        "created": event.created_at.isoformat(),
        "data": event.data,
    }, separators=(",", ":"), ensure_ascii=False).encode()


def delivery_claim(*, delivery_id: int, now: datetime) -> int | None:
    """Lease the delivery for one attempt; returns the attempt number, or None when it
    is not due, already delivered or given up, or another worker holds the lease."""
    due = (Q(status__in=(DeliveryStatus.PENDING, DeliveryStatus.FAILED),
             next_attempt_at__lte=now)
           & (Q(leased_until__isnull=True) | Q(leased_until__lte=now)))
    claimed = WebhookDelivery.objects.filter(due, pk=delivery_id).update(
        leased_until=now + LEASE, attempts=F("attempts") + 1, updated_at=now)
    if claimed != 1:
        return None
    return WebhookDelivery.objects.values_list("attempts", flat=True).get(pk=delivery_id)


def delivery_send(*, delivery_id: int, now: datetime) -> bool:
    """Make one attempt at a due delivery; True when the endpoint answered 2xx.

    Safe to call any number of times from any number of workers: a delivery
    that is not due, or leased by someone else, is left alone. Any other answer
    (3xx, 4xx, 5xx) or no answer schedules a retry after ``RETRY_DELAYS``;
    after the last it is given up.
    """
    number = delivery_claim(delivery_id=delivery_id, now=now)
    if number is None:
        return False
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    body = event_body(delivery.event)
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "Simdesk-Event-Id": delivery.event.event_id,
        "Simdesk-Event-Type": delivery.event.type,
        "Simdesk-Signature": sign(secret=delivery.endpoint.secret, body=body,
                                  timestamp=timestamp),
    }
    status, excerpt, error = None, "", ""
    started = time.monotonic()
    try:
        status, excerpt = get_transport().post(url=delivery.endpoint.url, body=body,
                                               headers=headers, timeout=REQUEST_TIMEOUT)
    except TransportError as failure:
        error = str(failure)
    duration_ms = int((time.monotonic() - started) * 1000)
    succeeded = status is not None and 200 <= status < 300
    _attempt_record(delivery=delivery, number=number, now=now, succeeded=succeeded,
                    http_status=status, excerpt=excerpt[:EXCERPT_CHARS], error=error,
                    duration_ms=duration_ms)
    return succeeded


def _attempt_record(*, delivery: WebhookDelivery, number: int, now: datetime, succeeded: bool,
                    http_status: int | None, excerpt: str, error: str,
                    duration_ms: int) -> None:
    if succeeded:
        outcome = {"status": DeliveryStatus.SUCCEEDED, "delivered_at": now,
                   "next_attempt_at": None}
    else:
        delay = retry_delay(number - delivery.round_start)
        outcome = {"status": DeliveryStatus.FAILED if delay else DeliveryStatus.GIVEN_UP,
                   "next_attempt_at": now + delay if delay else None}
        logger.warning("webhook delivery %s (event %s) attempt %s failed: %s", delivery.public_id,
                       delivery.event.event_id, number, error or f"HTTP {http_status}")
    with transaction.atomic():
        # Only the holder of this attempt's lease records it (see WebhookDelivery).
        # The attempt's task is done: a retry is the sweep's to hand out once it is due.
        updated = WebhookDelivery.objects.filter(pk=delivery.pk, attempts=number).update(
            leased_until=None, enqueued_until=None, updated_at=now, **outcome)
        WebhookAttempt.objects.create(
            delivery=delivery, number=number, at=now, http_status=http_status,
            response_excerpt=excerpt, error=error[:2000], duration_ms=duration_ms)
    if not updated:
        logger.warning("webhook delivery %s attempt %s finished after its lease was taken over",
                       delivery.public_id, number)
    elif outcome["status"] == DeliveryStatus.GIVEN_UP:
        logger.error("webhook delivery %s (event %s) given up after %s attempts",
                     delivery.public_id, delivery.event.event_id, number)


def delivery_retry(*, delivery: WebhookDelivery, now: datetime) -> bool:
    """Offer a failed or given-up delivery again now, with a fresh set of attempts.

    For staff; returns False (and changes nothing) for a pending, delivered or
    currently leased one.
    Earlier attempts stay on record; the new ones are numbered after them.
    """
    not_leased = Q(leased_until__isnull=True) | Q(leased_until__lte=now)
    updated = WebhookDelivery.objects.filter(
        not_leased, pk=delivery.pk,
        status__in=(DeliveryStatus.FAILED, DeliveryStatus.GIVEN_UP),
    ).update(status=DeliveryStatus.PENDING, next_attempt_at=now, leased_until=None,
             enqueued_until=now + ENQUEUE_LEASE, round_start=F("attempts"), updated_at=now)
    if updated:
        pk = delivery.pk
        transaction.on_commit(lambda: _enqueue([pk]))
    return updated == 1
