"""Writes to the outbox: queue a message, claim and send it, retry with backoff.

Two workers never send the same e-mail: a row is claimed by one conditional
UPDATE (pending/failed and due → sending), and only the worker whose UPDATE
changed the row goes on to send it.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from .models import Notification, NotificationStatus

logger = logging.getLogger(__name__)

# Attempts before a message is given up (the first send counts as one).
MAX_ATTEMPTS = 6
# A worker that claimed a row and died leaves it "sending"; after this long the
# clock offers it again (an e-mail backend call never legitimately takes so long).
STALE_CLAIM = timedelta(minutes=15)


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the ``attempts``-th failed try: 1, 4, 16, 64 minutes… capped at 6 hours."""
    return min(timedelta(minutes=4 ** max(attempts - 1, 0)), timedelta(hours=6))


def user_language(user) -> str:
    """The language the user reads e-mail in: their own choice, else the site default."""
    language = getattr(user, "language", "") or settings.LANGUAGE_CODE
    known = {code for code, _name in settings.LANGUAGES}
    return language if language in known else settings.LANGUAGE_CODE


def notification_queue(*, user, kind: str, context: dict[str, Any], dedupe_key: str,
                       now: datetime) -> Notification:
    """Put one message for ``user`` in the outbox and send it after the transaction commits.

    Idempotent by (kind, dedupe_key): calling it again returns the first row and
    queues nothing more. Nothing is sent if the surrounding transaction rolls back.
    ``context`` must be JSON-serialisable (ISO strings for times, integers for money).
    """
    from .tasks import notification_send_task

    with transaction.atomic():
        notification, created = Notification.objects.get_or_create(
            kind=kind, dedupe_key=dedupe_key,
            defaults={
                "user": user, "context": context, "language": user_language(user),
                "queued_at": now, "next_attempt_at": now,
            },
        )
        if created:
            pk = notification.pk
            transaction.on_commit(lambda: notification_send_task.enqueue(notification_id=pk))
    return notification


def notification_claim(*, notification_id: int, now: datetime) -> bool:
    """Claim the row for sending; True for exactly one caller while it is due."""
    due = (Q(status__in=(NotificationStatus.PENDING, NotificationStatus.FAILED),
             next_attempt_at__lte=now)
           | Q(status=NotificationStatus.SENDING, claimed_at__lte=now - STALE_CLAIM))
    claimed = Notification.objects.filter(due, pk=notification_id).update(
        status=NotificationStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1,
        updated_at=now,
    )
    return claimed == 1


def notification_send(*, notification_id: int, now: datetime) -> bool:
    """Send one queued message if it is due and nobody else is sending it.

    Returns True when this call sent it. Safe to call any number of times, from
    any number of workers: a sent message is never sent again. A failure marks
    the row failed with the next try after a growing delay, and gives up after
    ``MAX_ATTEMPTS``.
    """
    from .channels.email import email_send

    if not notification_claim(notification_id=notification_id, now=now):
        return False
    notification = Notification.objects.select_related("user").get(pk=notification_id)
    try:
        email_send(notification=notification, now=now)
    except Exception as error:  # any backend or rendering failure: keep the row for a retry
        logger.warning("notification %s (%s) failed on attempt %s: %s", notification.public_id,
                       notification.kind, notification.attempts, error, exc_info=True)
        notification_mark_failed(notification=notification, error=error, now=now)
        return False
    Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING).update(
        status=NotificationStatus.SENT, sent_at=now, next_attempt_at=None, last_error="",
        updated_at=now,
    )
    return True


def notification_mark_failed(*, notification: Notification, error: BaseException,
                             now: datetime) -> None:
    """Record a failed try: due again after the backoff, or given up after the last attempt."""
    give_up = notification.attempts >= MAX_ATTEMPTS
    Notification.objects.filter(pk=notification.pk, status=NotificationStatus.SENDING).update(
        status=NotificationStatus.FAILED,
        next_attempt_at=None if give_up else now + retry_delay(notification.attempts),
        last_error=f"{type(error).__name__}: {error}"[:2000],
        updated_at=now,
    )
    if give_up:
        logger.error("notification %s (%s) given up after %s attempts", notification.public_id,
                     notification.kind, notification.attempts)


def notification_retry(*, notification: Notification, now: datetime) -> bool:
    """Offer a failed (or given-up) message again now, with a fresh set of attempts.

    For staff; returns False (and changes nothing) unless the message has failed.
    """
    updated = Notification.objects.filter(
        pk=notification.pk, status=NotificationStatus.FAILED
    ).update(status=NotificationStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now)
    if updated:
        from .tasks import notification_send_task

        pk = notification.pk
        transaction.on_commit(lambda: notification_send_task.enqueue(notification_id=pk))
    return updated == 1
