"""The outbox: one row per message to send, claimed by a worker with a conditional UPDATE.

A row is written in the same transaction as the change it reports, so a rolled
back change leaves no message; the send task is enqueued only after commit, and
the clock finds any row whose task was lost (see ``notifications_due``).
"""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from simdesk.core.models import BaseModel


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Notification(BaseModel):
    """One message to one user, rendered in ``language`` when it is sent.

    ``(kind, dedupe_key)`` is unique: queuing the same message twice keeps the
    first row. ``next_attempt_at`` is when a worker may (re)try it; a failed row
    with no ``next_attempt_at`` has used up its attempts and is left for staff.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notifications", verbose_name=_("user"))
    kind = models.CharField(_("kind"), max_length=64)
    context = models.JSONField(_("context"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=10)
    dedupe_key = models.CharField(_("deduplication key"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=NotificationStatus.choices,
                              default=NotificationStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    queued_at = models.DateTimeField(_("queued at"))
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["kind", "dedupe_key"],
                                    name="notification_dedupe_once"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} to {self.user_id} ({self.status})"

    @property
    def gave_up(self) -> bool:
        return self.status == NotificationStatus.FAILED and self.next_attempt_at is None

    def is_due(self, *, now: datetime) -> bool:
        return (self.status in (NotificationStatus.PENDING, NotificationStatus.FAILED)
                and self.next_attempt_at is not None and self.next_attempt_at <= now)


# Alerts fire when this share of a period's data is used, and this many days before it ends.
DEFAULT_USAGE_THRESHOLDS = (80, 100)
DEFAULT_EXPIRY_DAYS = (3, 1)


def default_usage_thresholds() -> list[int]:
    return list(DEFAULT_USAGE_THRESHOLDS)


def default_expiry_days() -> list[int]:
    return list(DEFAULT_EXPIRY_DAYS)


class NotificationPreferences(BaseModel):
    """Which optional e-mails a user wants, and the alert thresholds.

    Receipts, payment and renewal e-mails are not optional and have no switch here.
    A user without a row has the defaults (see ``notification_preferences_get``).
    ``usage_thresholds`` are percent used, ascending; ``expiry_days`` are days
    before the end, descending (the order in which they fire).
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="notification_preferences",
                                verbose_name=_("user"))
    marketing = models.BooleanField(_("news and offers"), default=False)
    alerts = models.BooleanField(_("usage and expiry alerts"), default=True)
    usage_thresholds = models.JSONField(_("usage thresholds (percent used)"),
                                        default=default_usage_thresholds)
    expiry_days = models.JSONField(_("expiry alerts (days before the end)"),
                                   default=default_expiry_days)
    # Copies of the lists' ends, kept by the service, so the alert sweep can pick
    # candidate cards in SQL: the lowest percent (101: none), the highest percent
    # (0: none), the most days ahead (0: none) and the fewest days ahead (0: none).
    usage_floor = models.PositiveSmallIntegerField(default=min(DEFAULT_USAGE_THRESHOLDS))
    usage_top = models.PositiveSmallIntegerField(default=max(DEFAULT_USAGE_THRESHOLDS))
    expiry_horizon = models.PositiveSmallIntegerField(default=max(DEFAULT_EXPIRY_DAYS))
    expiry_last = models.PositiveSmallIntegerField(default=min(DEFAULT_EXPIRY_DAYS))

    class Meta:
        verbose_name = _("notification preferences")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"notification preferences of {self.user_id}"
