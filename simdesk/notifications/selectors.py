"""Reads of the outbox."""

from datetime import datetime

from django.db.models import Q, QuerySet

from .models import Notification, NotificationPreferences, NotificationStatus
from .services import STALE_CLAIM


def notifications_due(*, now: datetime) -> QuerySet[Notification]:
    """Messages a worker should try now: new or failed ones whose time has come, and
    ones left 'sending' by a worker that stopped mid-way."""
    return Notification.objects.filter(
        Q(status__in=(NotificationStatus.PENDING, NotificationStatus.FAILED),
          next_attempt_at__lte=now)
        | Q(status=NotificationStatus.SENDING, claimed_at__lte=now - STALE_CLAIM)
    ).order_by("next_attempt_at", "id")


def notification_preferences_get(*, user) -> NotificationPreferences:
    """The user's preferences; the defaults (unsaved) when they never changed them."""
    preferences = NotificationPreferences.objects.filter(user=user).first()
    return preferences or NotificationPreferences(user=user)
