"""Inbound webhooks: verify, store under a unique (gateway, event id), then process.

Processing happens at once in its own transaction (so a payment confirmation
activates what it pays for within the webhook request); a failure marks the
event failed with a next attempt time, and the clock's sweep retries it.
"""

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F

from ..gateways import get_gateway
from ..models import InboundWebhookEvent, Payment, WebhookStatus
from .payments import payment_apply_outcome

logger = logging.getLogger(__name__)

#: After this many failed attempts an event waits for staff ("reprocess" in the admin).
MAX_ATTEMPTS = 12


class WebhookProcessingError(Exception):
    """The event is genuine but cannot be applied (yet: its payment may not be known).

    ``retry=False``: trying again cannot help; the event waits for staff.
    """

    def __init__(self, message: str, *, retry: bool = True):
        super().__init__(message)
        self.retry = retry


def webhook_receive(*, gateway: str, headers: Mapping[str, str], body: bytes,
                    now: datetime) -> tuple[InboundWebhookEvent, bool]:
    """Verify, store and process one inbound webhook; return the event and whether it is new.

    Rule: an untrusted webhook raises ``WebhookRejected`` (or NotFound for an unknown
    gateway) before anything is stored. A repeated delivery of a stored event
    (same gateway and event id) is recognised and not processed again, so this is
    safe to call any number of times, concurrently too: the unique constraint
    lets exactly one delivery store (and so process) the event.
    """
    gw = get_gateway(gateway)
    parsed = gw.parse_webhook(headers=headers, body=body, now=now)
    try:
        with transaction.atomic():
            event = InboundWebhookEvent.objects.create(
                gateway=gw.name, event_id=parsed.event_id[:200], type=parsed.type[:100],
                gateway_payment_id=parsed.gateway_payment_id[:100],
                outcome=parsed.outcome or "", failure_code=parsed.failure_code[:50],
                failure_message=parsed.failure_message[:300],
                saved_method_token=parsed.saved_method_token[:200],
                saved_method_label=parsed.saved_method_label[:100],
                amount_minor=parsed.amount_minor, currency=parsed.currency[:3],
                payload=parsed.payload, received_at=now,
            )
    except IntegrityError:
        logger.info("payments: duplicate webhook %s:%s ignored", gw.name, parsed.event_id)
        return InboundWebhookEvent.objects.get(gateway=gw.name, event_id=parsed.event_id), False
    return webhook_event_process(event=event, now=now), True


def _retry_delay(attempts: int) -> timedelta:
    # 1, 2, 4 … minutes, at most six hours apart.
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def webhook_event_process(*, event: InboundWebhookEvent, now: datetime) -> InboundWebhookEvent:
    """Apply a stored event to its payment; mark it processed, or failed with a retry time.

    Rule: an event is applied at most once (its row is locked and its status
    checked), and applying is idempotent anyway, so a retry racing the first try
    changes nothing twice. Never raises for a processing failure: it is recorded.
    """
    try:
        with transaction.atomic():
            event = InboundWebhookEvent.objects.select_for_update().get(pk=event.pk)
            if event.status == WebhookStatus.PROCESSED:
                return event
            if event.outcome:
                payment = Payment.objects.filter(
                    gateway=event.gateway, gateway_payment_id=event.gateway_payment_id
                ).first() if event.gateway_payment_id else None
                if payment is None:
                    raise WebhookProcessingError(
                        f"no payment with {event.gateway} id {event.gateway_payment_id!r}")
                if (event.amount_minor is not None and event.amount_minor != payment.amount_minor) \
                        or (event.currency and event.currency != payment.currency):
                    # Never let a payment for another amount pay for this one: staff look.
                    raise WebhookProcessingError(
                        f"event is for {event.amount_minor} {event.currency}, payment "
                        f"{payment.public_id} is for {payment.amount_minor} {payment.currency}",
                        retry=False)
                payment_apply_outcome(
                    payment=payment, outcome=event.outcome, source=f"webhook:{event.event_id}",
                    failure_code=event.failure_code, failure_message=event.failure_message,
                    saved_method_token=event.saved_method_token,
                    saved_method_label=event.saved_method_label, now=now,
                )
            event.status = WebhookStatus.PROCESSED
            event.processed_at = now
            event.attempts = F("attempts") + 1
            event.next_attempt_at = None
            event.save(update_fields=["status", "processed_at", "attempts", "next_attempt_at"])
    except Exception as error:
        logger.warning("payments: processing webhook %s:%s failed: %s", event.gateway,
                       event.event_id, error, exc_info=not isinstance(error,
                                                                      WebhookProcessingError))
        attempts = 1 + (InboundWebhookEvent.objects.filter(pk=event.pk)
                        .values_list("attempts", flat=True).first() or 0)
        InboundWebhookEvent.objects.filter(pk=event.pk).exclude(
            status=WebhookStatus.PROCESSED
        ).update(
            status=WebhookStatus.FAILED, attempts=F("attempts") + 1,
            last_error=f"{type(error).__name__}: {error}"[:2000],
            next_attempt_at=(now + _retry_delay(attempts)
                             if attempts < MAX_ATTEMPTS and getattr(error, "retry", True)
                             else None),
        )
    event.refresh_from_db()
    return event
