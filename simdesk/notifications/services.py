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
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from simdesk.core.errors import ServiceError

from .models import Notification, NotificationPreferences, NotificationStatus

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


# --- Preferences -----------------------------------------------------------------------------

MAX_THRESHOLDS = 5
USAGE_PERCENT_RANGE = (1, 100)
EXPIRY_DAYS_RANGE = (1, 30)


class PreferenceInvalid(ServiceError):
    """A refused preference; ``field`` names the setting that was wrong."""

    def __init__(self, message, *, field: str):
        super().__init__(message, code=f"invalid_{field}")
        self.field = field


def _clean_thresholds(values, *, field: str, low: int, high: int, descending: bool,
                      out_of_range) -> list[int]:
    numbers = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise PreferenceInvalid(_("Use whole numbers only, separated by commas."),
                                    field=field)
        if not low <= value <= high:
            raise PreferenceInvalid(out_of_range % {"value": value, "low": low, "high": high},
                                    field=field)
        numbers.append(value)
    unique = sorted(set(numbers), reverse=descending)
    if len(unique) > MAX_THRESHOLDS:
        raise PreferenceInvalid(
            ngettext_lazy("Choose at most %(count)d value.", "Choose at most %(count)d values.",
                          MAX_THRESHOLDS) % {"count": MAX_THRESHOLDS},
            field=field)
    return unique


def notification_preferences_update(*, user, marketing: bool, alerts: bool,
                                    usage_thresholds: list[int], expiry_days: list[int],
                                    now: datetime) -> NotificationPreferences:
    """Save the user's optional e-mails and alert thresholds.

    Thresholds are whole numbers: percent used 1–100 and days before the end 1–30,
    at most five of each, stored de-duplicated and sorted (percent ascending, days
    descending). An empty list means no alerts of that kind. Any invalid value
    refuses the whole change (``PreferenceInvalid`` naming the field) and saves
    nothing. Receipts and payment e-mails have no switch. Calling it twice with the
    same values is safe.
    """
    thresholds = _clean_thresholds(
        usage_thresholds, field="usage_thresholds", low=USAGE_PERCENT_RANGE[0],
        high=USAGE_PERCENT_RANGE[1], descending=False,
        out_of_range=_("%(value)s is not a percentage between %(low)s and %(high)s."))
    days = _clean_thresholds(
        expiry_days, field="expiry_days", low=EXPIRY_DAYS_RANGE[0], high=EXPIRY_DAYS_RANGE[1],
        descending=True,
        out_of_range=_("%(value)s is not a number of days between %(low)s and %(high)s."))
    with transaction.atomic():
        preferences, _created = NotificationPreferences.objects.update_or_create(
            user=user,
            defaults={"marketing": bool(marketing), "alerts": bool(alerts),
                      "usage_thresholds": thresholds, "expiry_days": days,
                      "usage_floor": min(thresholds, default=101),
                      "usage_top": max(thresholds, default=0),
                      "expiry_horizon": max(days, default=0),
                      "expiry_last": min(days, default=0)},
        )
    return preferences
