"""Usage and expiry alerts: each period alerts its customer once per threshold they chose.

Rules (``alerts_check_card``):
- usage: percent used = (total − remaining) · 100 // total, for limited periods that
  are active or were used up within the last day; a threshold is crossed when the
  percent used reaches it;
- expiry: a threshold of N days is crossed when the period ends within N days (and
  has not ended); thresholds as long as the period itself are skipped, so buying a
  one-day pass does not warn at once that it ends in a day; paused cards are skipped,
  since their clock is stopped;
- when several thresholds of one kind are crossed at once (usage jumped from 50 % to
  100 %, or the check had not run for days) each is recorded but only the most urgent
  one is e-mailed: one calm message rather than a burst;
- a customer with alerts off gets nothing and nothing is recorded, so after turning
  alerts back on they hear about a threshold that is still crossed.

Exactly once: the card row is locked while checking, and an ``AlertSent`` row unique on
(period, kind, threshold) is inserted in the same transaction as the outbox row. A
second check, or a concurrent worker, finds the row (or fails to insert it) and sends
nothing.
"""

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.urls import reverse

from simdesk.cards.models import Card, CardState, Period, PeriodState
from simdesk.cards.services import card_lock
from simdesk.cards.webhooks import period_low_data_emit
from simdesk.notifications.messages import notify_expiry_alert, notify_usage_alert
from simdesk.notifications.selectors import notification_preferences_get

from .models import AlertKind, AlertSent
from .selectors import periods_for_alerts

logger = logging.getLogger(__name__)

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Alert:
    """One alert e-mailed by this check."""

    period_id: int
    kind: str
    threshold: int


def used_percent(period: Period) -> int:
    """Whole percent of a limited period's data used, rounded down."""
    return (period.total_bytes - period.remaining_bytes) * 100 // period.total_bytes


def _record(period: Period, kind: str, threshold: int, now: datetime) -> bool:
    """Insert the AlertSent row; False if it exists already (someone else sent it)."""
    try:
        with transaction.atomic():
            AlertSent.objects.create(period=period, kind=kind, threshold=threshold, sent_at=now)
    except IntegrityError:
        return False
    return True


def _context(card: Card, period: Period) -> dict:
    return {
        "plan_names": period.names, "plan_code": period.plan_code,
        "card_iccid": card.iccid, "card_label": card.label,
        "ends_at": period.ends_at.isoformat() if period.ends_at else None,
        "remaining_bytes": None if period.unlimited else period.remaining_bytes,
        "total_bytes": None if period.unlimited else period.total_bytes,
        "card_url": reverse("portal:card_detail", kwargs={"public_id": card.public_id}),
        "plans_url": reverse("portal:plans"),
        "settings_url": reverse("portal:notification_preferences"),
    }


def _dedupe_key(period: Period, kind: str, threshold: int) -> str:
    return f"alert:{period.public_id}:{kind}:{threshold}"


def alerts_check_card(*, card: Card, now: datetime) -> list[Alert]:
    """Queue every usage and expiry alert the card's current periods owe their owner at
    ``now`` (see the module docstring for the rules) and return the ones e-mailed.

    Safe to call any number of times, from any number of workers: each period alerts
    once per threshold. Called by the alert sweep and after usage is debited.
    """
    if card.owner_id is None:
        return []
    preferences = notification_preferences_get(user=card.owner)
    if not preferences.alerts:
        return []
    sent: list[Alert] = []
    with transaction.atomic():
        # Serialises with debits and with other checks of this card.
        card = card_lock(card)
        if card.owner_id is None or card.state == CardState.TERMINATED:
            return []
        periods = list(periods_for_alerts(now=now).filter(card=card).order_by("pk"))
        done = set(AlertSent.objects.filter(period__in=periods)
                   .values_list("period_id", "kind", "threshold"))
        for period in periods:
            if not period.unlimited and period.total_bytes:
                percent = used_percent(period)
                crossed = [t for t in preferences.usage_thresholds
                           if t <= percent and (period.pk, AlertKind.USAGE, t) not in done]
                recorded = [t for t in crossed if _record(period, AlertKind.USAGE, t, now)]
                if recorded:
                    threshold = max(recorded)
                    notify_usage_alert(
                        user=card.owner,
                        alert={**_context(card, period), "threshold": threshold,
                               "used_percent": min(percent, 100)},
                        dedupe_key=_dedupe_key(period, AlertKind.USAGE, threshold), now=now)
                    sent.append(Alert(period.pk, AlertKind.USAGE, threshold))
                    period_low_data_emit(period=period, card=card, thresholds=recorded,
                                         used_percent=percent, now=now)
            if (period.state != PeriodState.ACTIVE or period.ends_at is None
                    or card.state == CardState.PAUSED or period.ends_at <= now):
                continue
            left = period.ends_at - now
            length = period.ends_at - (period.starts_at or period.activated_at or now)
            crossed = [d for d in preferences.expiry_days
                       if left <= d * DAY < length
                       and (period.pk, AlertKind.EXPIRY, d) not in done]
            recorded = [d for d in crossed if _record(period, AlertKind.EXPIRY, d, now)]
            if recorded:
                threshold = min(recorded)
                notify_expiry_alert(
                    user=card.owner,
                    alert={**_context(card, period), "threshold": threshold,
                           "days_left": math.ceil(left / DAY)},
                    dedupe_key=_dedupe_key(period, AlertKind.EXPIRY, threshold), now=now)
                sent.append(Alert(period.pk, AlertKind.EXPIRY, threshold))
    for alert in sent:
        logger.info("alert %s %s queued for period %s of card %s", alert.kind, alert.threshold,
                    alert.period_id, card.public_id)
    return sent
