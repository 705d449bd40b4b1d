"""What cards and periods tell integrators through outgoing webhooks.

Payloads name things by public id (never internal keys), times in ISO 8601 UTC,
data in integer bytes. Each helper first asks whether any endpoint wants the
type, so the usual case (no integrator) builds nothing and writes nothing.
"""

from datetime import datetime

from simdesk.integrations.models import EventType
from simdesk.integrations.services import event_emit, event_wanted

from .models import Card, Period


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def card_ref(card: Card) -> dict:
    """Which card, and whose: what every card and period event carries."""
    return {
        "card": str(card.public_id),
        "iccid": card.iccid,
        "customer": str(card.owner.public_id) if card.owner_id else None,
    }


def card_payload(card: Card) -> dict:
    return {**card_ref(card), "card_state": card.state}


def period_payload(period: Period, card: Card) -> dict:
    return {
        "period": str(period.public_id),
        "plan": period.plan_code,
        "state": period.state,
        "unlimited": period.unlimited,
        "total_bytes": period.total_bytes,
        "remaining_bytes": period.remaining_bytes,
        "used_bytes": period.used_bytes,
        "activated_at": _iso(period.activated_at),
        "starts_at": _iso(period.starts_at),
        "ends_at": _iso(period.ends_at),
        "closed_at": _iso(period.closed_at),
        **card_ref(card),
    }


def card_event_emit(*, type: EventType, card: Card, at: datetime, now: datetime,
                    reason: str = "") -> None:
    """``card.suspended`` / ``card.resumed``: one event per state change (keyed by its time)."""
    if event_wanted(type):
        event_emit(type=type, data={**card_payload(card), "reason": reason, "at": _iso(at)},
                   dedupe_key=f"{type}:{card.public_id}:{_iso(at)}", now=now)


def period_event_emit(*, type: EventType, period: Period, card: Card, now: datetime,
                      key: str = "") -> None:
    """A period event, once per period (and per ``key`` when the same fact can recur:
    ``period.exhausted`` passes the period's ``closed_at``, since a used-up period that
    gets data back can run out again). Any other code path announcing the same fact
    must use the same key, so the fact stays one event."""
    if event_wanted(type):
        event_emit(type=type, data=period_payload(period, card),
                   dedupe_key=f"{type}:{period.public_id}{':' + key if key else ''}", now=now)


def period_low_data_emit(*, period: Period, card: Card, thresholds: list[int],
                         used_percent: int, now: datetime) -> None:
    """``period.low_data`` when a usage alert at the customer's chosen percent used is
    recorded, once per period and threshold (the highest of those crossed together).
    A 100 % threshold alone is left to ``period.exhausted``."""
    below_full = [t for t in thresholds if t < 100]
    if not below_full or not event_wanted(EventType.PERIOD_LOW_DATA):
        return
    threshold = max(below_full)
    event_emit(type=EventType.PERIOD_LOW_DATA,
               data={**period_payload(period, card), "threshold_percent": threshold,
                     "used_percent": min(used_percent, 100)},
               dedupe_key=f"{EventType.PERIOD_LOW_DATA}:{period.public_id}:{threshold}",
               now=now)
