"""What happens at the sandbox: customers pay on its page, it signs and sends webhooks.

Every finished charge (and one waiting for authentication) produces an event in
the delivery outbox. After commit the sandbox tries to deliver it at once and
enqueues a background delivery; a failed copy is retried with backoff by the
task and found again by the clock's sweep, so no event is lost.

Why deliver at once as well as by the job: in the embedded setup (gunicorn
2 workers x 4 threads, SQLite, the database worker polling once a second) the
job alone settles the payment 1.0-1.2 s after the customer pays, so the page
they return to shows "waiting"; with the at-once attempt the payment (and the
order's period) is settled before the redirect leaves, in 200 of 200 tries, for
a pay-page POST of 35 ms p50 / 86 ms p99 including the webhook round trip. The
attempt is bounded (AT_ONCE_TIMEOUT_SECONDS) so a busy server only delays the
redirect a little and the job takes over.
"""

import json
import logging
import random
import secrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import Conflict

from .cards import TestCard
from .models import (
    SANDBOX_FINAL,
    SandboxCharge,
    SandboxChargeStatus,
    SandboxDeliveryStatus,
    SandboxPaymentMethod,
    SandboxWebhookDelivery,
)
from .signing import SIGNATURE_HEADER, sign
from .transport import TransportError, get_transport

logger = logging.getLogger(__name__)

DELIVERY_MAX_ATTEMPTS = 10
DELIVERY_TIMEOUT_SECONDS = 10.0
# The at-once attempt holds up the customer's redirect: give up early and leave
# the copy to the background job (a late answer only makes a harmless duplicate).
AT_ONCE_TIMEOUT_SECONDS = 3.0
CLAIM_SECONDS = 60

EVENT_TYPES = {
    SandboxChargeStatus.SUCCEEDED: "charge.succeeded",
    SandboxChargeStatus.DECLINED: "charge.declined",
    SandboxChargeStatus.CANCELLED: "charge.cancelled",
    SandboxChargeStatus.REQUIRES_AUTHENTICATION: "charge.requires_authentication",
}

FAILURE_MESSAGES = {
    "card_declined": "The card was declined.",
    "insufficient_funds": "The card has insufficient funds.",
    "authentication_failed": "The cardholder failed authentication.",
    "cancelled": "The customer cancelled the payment.",
}


def _lock_charge(charge: SandboxCharge) -> SandboxCharge:
    return SandboxCharge.objects.select_for_update().get(pk=charge.pk)


def _finish(charge: SandboxCharge, *, status: str, now: datetime, failure_code: str = "",
            test_card: str = "") -> None:
    charge.status = status
    charge.failure_code = failure_code
    if test_card:
        charge.test_card = test_card
    fields = ["status", "failure_code", "test_card", "updated_at"]
    if status in SANDBOX_FINAL:
        charge.finished_at = now
        fields.append("finished_at")
    charge.save(update_fields=fields)
    sandbox_event_emit(charge=charge, now=now)


def _remember_method(charge: SandboxCharge, card: TestCard, now: datetime) -> None:
    if not charge.save_method or charge.method_id:
        return
    charge.method = SandboxPaymentMethod.objects.create(
        token=f"sbxpm_{secrets.token_hex(12)}", customer_ref=charge.customer_ref,
        test_card=card.number, label=f"{card.brand} •••• {card.last4}", created_at=now,
    )
    charge.save(update_fields=["method", "updated_at"])


def sandbox_charge_pay(*, charge: SandboxCharge, card: TestCard, now: datetime) -> SandboxCharge:
    """The customer pays with a test card: success, decline, or an authentication step.

    Rule: only an open charge can be paid; paying a finished one is a Conflict
    (a resubmitted form changes nothing).
    """
    with transaction.atomic():
        charge = _lock_charge(charge)
        if charge.status != SandboxChargeStatus.OPEN:
            raise Conflict(_("This payment is already finished."), code="charge_finished")
        if card.behaviour == "decline":
            _finish(charge, status=SandboxChargeStatus.DECLINED, now=now,
                    failure_code=card.failure_code, test_card=card.number)
        elif card.behaviour == "authenticate":
            _finish(charge, status=SandboxChargeStatus.REQUIRES_AUTHENTICATION, now=now,
                    test_card=card.number)
        else:
            _remember_method(charge, card, now)
            _finish(charge, status=SandboxChargeStatus.SUCCEEDED, now=now, test_card=card.number)
    return charge


def sandbox_charge_authenticate(*, charge: SandboxCharge, approve: bool,
                                now: datetime) -> SandboxCharge:
    """The customer completes (or fails) the authentication step of a 3155 card."""
    from .cards import test_card_find

    with transaction.atomic():
        charge = _lock_charge(charge)
        if charge.status != SandboxChargeStatus.REQUIRES_AUTHENTICATION:
            raise Conflict(_("This payment is not waiting for authentication."),
                           code="charge_finished")
        if approve:
            card = test_card_find(charge.test_card)
            if card is not None:
                _remember_method(charge, card, now)
            _finish(charge, status=SandboxChargeStatus.SUCCEEDED, now=now)
        else:
            _finish(charge, status=SandboxChargeStatus.DECLINED, now=now,
                    failure_code="authentication_failed")
    return charge


def sandbox_charge_decline(*, charge: SandboxCharge, now: datetime) -> SandboxCharge:
    """The Decline button: the bank says no (card declined)."""
    with transaction.atomic():
        charge = _lock_charge(charge)
        if charge.status in SANDBOX_FINAL:
            raise Conflict(_("This payment is already finished."), code="charge_finished")
        _finish(charge, status=SandboxChargeStatus.DECLINED, now=now,
                failure_code="card_declined")
    return charge


def sandbox_charge_cancel(*, charge: SandboxCharge, now: datetime) -> SandboxCharge:
    """The Cancel button: the customer gives up; nothing is charged."""
    with transaction.atomic():
        charge = _lock_charge(charge)
        if charge.status in SANDBOX_FINAL:
            raise Conflict(_("This payment is already finished."), code="charge_finished")
        _finish(charge, status=SandboxChargeStatus.CANCELLED, now=now, failure_code="cancelled")
    return charge


# --- Webhooks ----------------------------------------------------------------------------


def sandbox_event_payload(*, charge: SandboxCharge, event_id: str, now: datetime) -> dict:
    method = charge.method
    return {
        "id": event_id,
        "type": EVENT_TYPES[charge.status],
        "created": int(now.timestamp()),
        "data": {
            "charge": charge.gateway_payment_id,
            "status": charge.status,
            "amount_minor": charge.amount_minor,
            "currency": charge.currency,
            "failure_code": charge.failure_code,
            "failure_message": FAILURE_MESSAGES.get(charge.failure_code, ""),
            "payment_method": ({"token": method.token, "label": method.label}
                               if method is not None else None),
        },
    }


def sandbox_event_emit(*, charge: SandboxCharge, now: datetime) -> list[SandboxWebhookDelivery]:
    """Queue a signed webhook about the charge's current status (one or two copies).

    With probability ``SANDBOX_DUPLICATE_DELIVERY`` (1.0: always) the same event is
    delivered twice, to prove that simdesk processes it once.
    """
    event_id = f"evt_{uuid.uuid4().hex}"
    body = json.dumps(sandbox_event_payload(charge=charge, event_id=event_id, now=now),
                      separators=(",", ":"), sort_keys=True)
    copies = 1 + (random.random() < settings.SANDBOX_DUPLICATE_DELIVERY)
    deliveries = [
        SandboxWebhookDelivery.objects.create(
            event_id=event_id, copy=copy, event_type=EVENT_TYPES[charge.status], body=body,
            next_attempt_at=now, created_at=now)
        for copy in range(copies)
    ]
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: _after_commit(ids))
    return deliveries


def _after_commit(delivery_ids: list[int]) -> None:
    from simdesk.core.clock import utcnow

    for delivery_id in delivery_ids:
        if settings.SANDBOX_WEBHOOK_DELIVER_AT_ONCE:
            try:
                if sandbox_delivery_attempt(delivery_id=delivery_id, now=utcnow(),
                                            timeout=AT_ONCE_TIMEOUT_SECONDS):
                    continue
            except Exception:  # the background job and the sweep will try again
                logger.exception("sandbox: immediate delivery of %s failed", delivery_id)
        sandbox_delivery_enqueue(delivery_id=delivery_id)


def sandbox_delivery_enqueue(*, delivery_id: int) -> None:
    """Queue the background delivery of a pending copy for its next attempt time.

    Where the task backend cannot defer, the copy is sent when the job runs (too
    early is harmless: the attempt checks it is due) and the sweep takes over.
    """
    from ...tasks import sandbox_webhook_deliver

    due = (SandboxWebhookDelivery.objects.filter(pk=delivery_id,
                                                 status=SandboxDeliveryStatus.PENDING)
           .values_list("next_attempt_at", flat=True).first())
    if due is None:
        return
    try:
        task = sandbox_webhook_deliver
        if task.get_backend().supports_defer:
            task = task.using(run_after=due)
        task.enqueue(delivery_id=delivery_id)
    except Exception:  # the sweep finds the pending row again
        logger.exception("sandbox: could not enqueue delivery %s", delivery_id)


def _delivery_delay(attempts: int) -> timedelta:
    # 5 s, 10 s, 20 s … at most an hour apart.
    return timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 3600))


def webhook_url() -> str:
    return settings.SITE_URL + reverse("payments-webhook", kwargs={"gateway": "sandbox"})


def sandbox_delivery_attempt(*, delivery_id: int, now: datetime,
                             timeout: float = DELIVERY_TIMEOUT_SECONDS) -> bool:
    """Send one due copy of a webhook once; True if simdesk answered 2xx."""
    return sandbox_delivery_try(delivery_id=delivery_id, now=now, timeout=timeout) == DELIVERED


DELIVERED, FAILED, SKIPPED = "delivered", "failed", "skipped"


def sandbox_delivery_try(*, delivery_id: int, now: datetime,
                         timeout: float = DELIVERY_TIMEOUT_SECONDS) -> str:
    """Send one due copy of a webhook once: "delivered" (2xx), "failed" (this call sent
    it and got no 2xx), or "skipped" (not due, already delivered, or another sender's).

    Rule: a copy is sent by one sender at a time (claimed by a conditional
    UPDATE); a delivered copy is never sent again; a non-2xx answer or no answer
    schedules a retry with backoff, up to ``DELIVERY_MAX_ATTEMPTS``. Safe to call
    twice and from several processes.
    """
    claimed = SandboxWebhookDelivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        pk=delivery_id, status=SandboxDeliveryStatus.PENDING, next_attempt_at__lte=now,
    ).update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), attempts=F("attempts") + 1)
    if not claimed:
        return SKIPPED
    delivery = SandboxWebhookDelivery.objects.get(pk=delivery_id)
    body = delivery.body.encode()
    headers = {"Content-Type": "application/json",
               SIGNATURE_HEADER: sign(body=body, timestamp=int(now.timestamp()))}
    status_code, error = None, ""
    try:
        status_code = get_transport().post(url=webhook_url(), body=body, headers=headers,
                                           timeout=timeout)
    except TransportError as exc:
        error = str(exc)
    except Exception as exc:  # a bug in a transport must not leave the row claimed
        logger.exception("sandbox: delivery %s raised", delivery.event_id)
        error = f"{type(exc).__name__}: {exc}"
    if status_code is not None and 200 <= status_code < 300:
        SandboxWebhookDelivery.objects.filter(pk=delivery_id).update(
            status=SandboxDeliveryStatus.DELIVERED, delivered_at=now, claimed_until=None,
            last_status_code=status_code, last_error="")
        return DELIVERED
    gave_up = delivery.attempts >= DELIVERY_MAX_ATTEMPTS
    SandboxWebhookDelivery.objects.filter(pk=delivery_id).update(
        status=SandboxDeliveryStatus.GAVE_UP if gave_up else SandboxDeliveryStatus.PENDING,
        next_attempt_at=now + _delivery_delay(delivery.attempts), claimed_until=None,
        last_status_code=status_code, last_error=error[:2000] or f"HTTP {status_code}")
    logger.warning("sandbox: delivery of %s#%s failed (attempt %s): %s", delivery.event_id,
                   delivery.copy, delivery.attempts, error or status_code)
    return FAILED


def sandbox_deliveries_due(*, now: datetime):
    return SandboxWebhookDelivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        status=SandboxDeliveryStatus.PENDING, next_attempt_at__lte=now,
    )
