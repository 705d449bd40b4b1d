"""Debiting usage from a card's periods, exactly once per usage record."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import ServiceError
from simdesk.integrations.models import EventType

from ..models import Card, LedgerEntry, LedgerKind, Period, PeriodState
from ..webhooks import period_event_emit
from .ledger import card_lock, ledger_apply
from .periods import AdvanceResult, _advance, _start_next_queued
from .state import card_sync_state


@dataclass
class DebitResult:
    """What one usage record did. ``overage_bytes`` > 0 or ``ran_out`` means the caller
    should queue enforcement; ``fair_use_reached`` lists unlimited periods to throttle."""

    reference: str
    bytes: int
    debited: list[tuple[int, int]] = field(default_factory=list)  # (period id, bytes)
    overage_bytes: int = 0
    exhausted: list[Period] = field(default_factory=list)
    fair_use_reached: list[Period] = field(default_factory=list)
    ran_out: bool = False
    applied: bool = True  # False when the reference had been applied before


def _next_period(card: Card) -> Period | None:
    """Earliest end first among started periods with data left; an unstarted
    first-use period only when no started one can take the usage."""
    active = list(card.periods.filter(state=PeriodState.ACTIVE))
    usable = [p for p in active if p.unlimited or p.remaining_bytes > 0]
    started = [p for p in usable if p.ends_at is not None]
    if started:
        return min(started, key=lambda p: (p.ends_at, p.pk))
    waiting = sorted((p for p in usable if p.ends_at is None),
                     key=lambda p: (p.activated_at, p.pk))
    return waiting[0] if waiting else None


def _has_data(card: Card) -> bool:
    return _next_period(card) is not None


def _settle(card: Card, now: datetime) -> None:
    """Every call leaves the card's periods as they are at ``now``, whatever it did."""
    _advance(card, now)
    card_sync_state(card=card, at=now)


def _replay(card: Card, reference: str, rows: list[LedgerEntry]) -> DebitResult:
    result = DebitResult(reference=reference, bytes=0, applied=False)
    for row in rows:
        if row.kind == LedgerKind.OVERAGE:
            result.overage_bytes += -row.bytes
        else:
            result.debited.append((row.period_id, -row.bytes))
        result.bytes += -row.bytes
    result.ran_out = not _has_data(card)
    return result


def card_debit_usage(*, card: Card, bytes: int, reference: str, at: datetime,
                     now: datetime) -> DebitResult:
    """Debit ``bytes`` of usage that happened at ``at`` from the card's active periods,
    earliest end first, never below zero; what no period can take is recorded as
    overage. An unstarted ``on_first_use`` period starts at ``at`` when it is the only
    one left to use; a queued period starts the moment the usage used up the last one.

    Exactly once per ``reference`` (``usage:<source>:<record id>``): a second call is
    a no-op that returns the original result with ``applied=False``. Zero bytes
    changes no balance but is a record all the same: it leaves one row of 0 bytes
    (which reserves its reference) and moves ``usage_updated_at``; it starts no
    period. Usage that arrives after its period was closed is taken from what is
    active now.
    """
    if bytes < 0:
        raise ServiceError(_("Usage cannot be a negative number of bytes."))
    if not reference:
        raise ServiceError(_("Usage needs a reference to its record."))
    at = min(at, now)  # a network clock ahead of ours must not start periods in the future
    with transaction.atomic():
        card = card_lock(card)
        previous = list(LedgerEntry.objects.filter(reference=reference).order_by("seq"))
        if previous:
            _settle(card, now)
            return _replay(card, reference, previous)
        # Periods that ended before the usage happened must not take it.
        _advance(card, at)
        result = DebitResult(reference=reference, bytes=bytes)
        left, seq = bytes, 0
        if bytes == 0:
            # Nothing to take, but the record is seen: a row of 0 bytes on the period
            # that would have taken usage (overage when none can), so it counts once.
            period = _next_period(card)
            ledger_apply(card=card, period=period,
                         kind=LedgerKind.DEBIT_USAGE if period else LedgerKind.OVERAGE,
                         amount=0, reference=reference, at=at, now=now)
        while left > 0:
            period = _next_period(card)
            if period is None:
                break
            if period.ends_at is None:
                period.start(at=max(at, period.activated_at))
                period.save(update_fields=["starts_at", "ends_at", "updated_at"])
            take = left if period.unlimited else min(left, period.remaining_bytes)
            used_before = period.used_bytes
            ledger_apply(card=card, period=period, kind=LedgerKind.DEBIT_USAGE, amount=-take,
                         reference=reference, seq=seq, at=at, now=now)
            result.debited.append((period.pk, take))
            left -= take
            seq += 1
            if (period.unlimited and period.fair_use_bytes is not None
                    and used_before < period.fair_use_bytes <= period.used_bytes):
                period.fair_use_reached_at = at
                period.save(update_fields=["fair_use_reached_at", "updated_at"])
                result.fair_use_reached.append(period)
            if not period.unlimited and period.remaining_bytes == 0:
                # Used up at the time of this usage (never before the period began),
                # and the next queued period starts at that very moment.
                moment = max(at, period.starts_at or at)
                period.move(PeriodState.EXHAUSTED, at=moment)
                period.save(update_fields=["state", "closed_at", "activated_at", "updated_at"])
                result.exhausted.append(period)
                period_event_emit(type=EventType.PERIOD_EXHAUSTED, period=period, card=card,
                                  now=now, key=period.closed_at.isoformat())
                _start_next_queued(card, moment, AdvanceResult())
        if left > 0:
            ledger_apply(card=card, period=None, kind=LedgerKind.OVERAGE, amount=-left,
                         reference=reference, seq=seq, at=at, now=now)
            result.overage_bytes = left
        if card.usage_updated_at is None or at > card.usage_updated_at:
            card.usage_updated_at = at
            card.save(update_fields=["usage_updated_at", "updated_at"])
        _settle(card, now)
        result.ran_out = not _has_data(card)
        return result
