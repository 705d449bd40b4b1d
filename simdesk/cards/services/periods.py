"""Selling periods onto cards and moving them through time.

Timing rules (tests hold them):

- A queued period starts at the exact moment the card's last active period
  ended — its ``ends_at`` when it expired, the time of the usage that used it
  up when it was exhausted — never at the moment a sweep happened to notice.
  "The current one" is the set of active periods: a queued period waits until
  none is left.
- An ``on_first_use`` period is active but unstarted until usage reaches it;
  its clock starts at the time of that usage.
- While a card is paused its periods' clocks stand still, so nothing expires
  (cards/services/pause.py moves their ends on when the pause ends).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from simdesk.catalog.models import Plan, Stacking, ValidityStart
from simdesk.core.errors import Conflict, ServiceError
from simdesk.integrations.models import EventType

from ..models import Card, CardState, LedgerEntry, LedgerKind, Period, PeriodState
from ..webhooks import period_event_emit
from .ledger import card_lock, ledger_apply
from .state import card_sync_state


def _purchase_reference(source: str) -> str:
    return f"purchase:{source}"


def _plan_names(plan: Plan) -> dict[str, str]:
    from simdesk.catalog.models import normalize_language

    return {normalize_language(code): plan.name_for(code) for code, _label in settings.LANGUAGES}


def _extend_target(card: Card, plan: Plan) -> Period | None:
    """The active period an ``extend`` purchase adds to: the one that lasts longest,
    of the same kind of allowance (bytes cannot be added to an unlimited period)."""
    candidates = [p for p in card.periods.filter(state=PeriodState.ACTIVE)
                  if p.unlimited == plan.is_unlimited]
    started = [p for p in candidates if p.ends_at is not None]
    if started:
        return max(started, key=lambda p: (p.ends_at, p.pk))
    return candidates[0] if candidates else None


def period_create(*, card: Card, plan: Plan, source: str, now: datetime) -> Period:
    """Sell ``plan`` onto ``card``, applying the plan's stacking rule and validity start.

    - ``queue``: waits behind the card's active periods (starts when none is left);
      with nothing active it is active at once.
    - ``extend``: adds the data to the current active period as a ledger credit and
      moves its end to max(end, now) + days (an unstarted first-use period gets the
      days added to its validity instead); with no current period it is a new one.
    - ``parallel``: a separate period, active now.
    An active ``on_first_use`` period starts its clock at its first usage.

    ``source`` (``order:<id>``, ``demo:…``) is the idempotency key: calling again with
    the same source changes nothing and returns the period it made or extended.
    """
    if not source:
        raise ServiceError(_("A period needs a source."))
    with transaction.atomic():
        card = card_lock(card)
        done = (LedgerEntry.objects.filter(reference=_purchase_reference(source), seq=0)
                .select_related("period").first())
        if done is not None:
            if done.card_id != card.pk:
                raise Conflict(_("This purchase was already applied to another card."))
            return done.period
        if card.state == CardState.TERMINATED:
            raise ServiceError(_("This card is terminated; a plan cannot be added to it."))
        _advance(card, now)

        if plan.stacking == Stacking.EXTEND:
            target = _extend_target(card, plan)
            if target is not None:
                return _extend(card, target, plan, source, now)

        has_open = card.periods.filter(state__in=(PeriodState.ACTIVE,
                                                  PeriodState.QUEUED)).exists()
        period = Period(
            card=card, plan=plan, plan_code=plan.code, names=_plan_names(plan), kind=plan.kind,
            unlimited=plan.is_unlimited,
            total_bytes=None if plan.is_unlimited else 0,
            remaining_bytes=None if plan.is_unlimited else 0,
            fair_use_bytes=plan.fair_use_bytes, throttle_kbps=plan.throttle_kbps,
            validity_days=plan.validity_days, validity_start=plan.validity_start,
            stacking=plan.stacking, pausable=plan.pausable, max_pause_days=plan.max_pause_days,
            source=source,
        )
        if plan.stacking == Stacking.QUEUE and has_open:
            period.state = PeriodState.QUEUED
        else:
            period.state = PeriodState.ACTIVE
            period.activated_at = now
            if plan.validity_start == ValidityStart.ON_PURCHASE:
                period.start(at=now)
        period.save()
        ledger_apply(card=card, period=period, kind=LedgerKind.CREDIT_PURCHASE,
                     amount=plan.data_bytes or 0, reference=_purchase_reference(source),
                     at=now, now=now)
        card_sync_state(card=card, at=now)
        if period.state == PeriodState.ACTIVE:
            period_event_emit(type=EventType.PERIOD_ACTIVATED, period=period, card=card, now=now)
        return period


def _extend(card: Card, target: Period, plan: Plan, source: str, now: datetime) -> Period:
    if target.ends_at is None:
        target.validity_days += plan.validity_days
    else:
        target.ends_at = max(target.ends_at, _clock_now(card, now)) + timedelta(
            days=plan.validity_days)
    target.save(update_fields=["validity_days", "ends_at", "updated_at"])
    ledger_apply(card=card, period=target, kind=LedgerKind.CREDIT_EXTEND,
                 amount=plan.data_bytes or 0, reference=_purchase_reference(source),
                 at=now, now=now, note=plan.code)
    return target


def _clock_now(card: Card, now: datetime) -> datetime:
    """Where a period's validity clock stands at ``now``: ``now`` itself, but for a paused
    card the moment the pause began (its clocks stand still), plus any time since the
    pause reached its maximum (it ends there even if the sweep has not run yet)."""
    if card.paused_at is None:
        return now
    return card.paused_at + max(now - (card.pause_until or now), timedelta(0))


@dataclass
class AdvanceResult:
    expired: list[Period] = field(default_factory=list)
    exhausted: list[Period] = field(default_factory=list)
    started: list[Period] = field(default_factory=list)


def periods_advance(*, card: Card, now: datetime) -> AdvanceResult:
    """Bring the card's periods up to ``now``: expire periods whose end has passed (an
    ``expiry`` ledger row takes the unused remainder), mark used-up ones exhausted,
    and start queued ones at the moment the last active one ended.

    Idempotent: calling it again at the same or an earlier ``now`` changes nothing.
    """
    with transaction.atomic():
        card = card_lock(card)
        result = _advance(card, now)
        card_sync_state(card=card, at=now)
        return result


def _exhausted_at(period: Period, fallback: datetime) -> datetime:
    last = period.ledger.order_by("-id").first()
    return last.at if last is not None else fallback


def _advance(card: Card, now: datetime, result: AdvanceResult | None = None) -> AdvanceResult:
    """The body of ``periods_advance`` for a card already locked by the caller."""
    result = result or AdvanceResult()
    if card.state == CardState.PAUSED or card.paused_at is not None:
        # The validity clock stands still while paused, also under a staff suspension.
        return result
    while True:
        events: list[tuple[datetime, int, str, Period]] = []
        active = list(card.periods.filter(state=PeriodState.ACTIVE))
        for period in active:
            if not period.unlimited and period.remaining_bytes == 0:
                events.append((_exhausted_at(period, now), period.pk, "exhaust", period))
            elif period.ends_at is not None and period.ends_at <= now:
                events.append((period.ends_at, period.pk, "expire", period))
        if not events:
            if not active:
                # Queued periods with nothing active in front of them (e.g. the last
                # active one was refunded) start now.
                _start_next_queued(card, now, result)
            return result
        at, _pk, what, period = min(events, key=lambda e: (e[0], e[1]))
        if what == "exhaust":
            period.move(PeriodState.EXHAUSTED, at=at)
            period.save(update_fields=["state", "closed_at", "activated_at", "updated_at"])
            result.exhausted.append(period)
            period_event_emit(type=EventType.PERIOD_EXHAUSTED, period=period, card=card,
                              now=now, key=period.closed_at.isoformat())
        else:
            _expire(card, period, at, now)
            result.expired.append(period)
        _start_next_queued(card, at, result)


def _expire(card: Card, period: Period, at: datetime, now: datetime) -> None:
    if not period.unlimited and period.remaining_bytes > 0:
        ledger_apply(card=card, period=period, kind=LedgerKind.EXPIRY,
                     amount=-period.remaining_bytes, reference=f"expiry:{period.public_id}",
                     at=at, now=now)
    period.move(PeriodState.EXPIRED, at=at)
    period.save(update_fields=["state", "closed_at", "activated_at", "updated_at"])
    period_event_emit(type=EventType.PERIOD_EXPIRED, period=period, card=card, now=now)


def _start_next_queued(card: Card, at: datetime, result: AdvanceResult) -> Period | None:
    """Start the oldest queued period at ``at`` when no active period is left."""
    if card.periods.filter(state=PeriodState.ACTIVE).exists():
        return None
    queued = card.periods.filter(state=PeriodState.QUEUED).order_by("created_at", "id").first()
    if queued is None:
        return None
    queued.move(PeriodState.ACTIVE, at=at)
    if queued.validity_start == ValidityStart.ON_PURCHASE:
        queued.start(at=at)
    queued.save(update_fields=["state", "activated_at", "closed_at", "starts_at", "ends_at",
                               "updated_at"])
    result.started.append(queued)
    # Callers pass the moment the period started, which is when this became true.
    period_event_emit(type=EventType.PERIOD_ACTIVATED, period=queued, card=card, now=at)
    return queued


def period_close(*, period: Period, to: str, reference: str, now: datetime) -> Period:
    """Cancel (``to=cancelled``) or refund (``to=refunded``) a period: the unused
    remainder leaves through one ledger row, and a queued period behind it may start.

    ``reference`` names the cause (``refund:<id>``); calling again with the same
    reference changes nothing.
    """
    kinds = {PeriodState.CANCELLED: LedgerKind.CANCELLATION,
             PeriodState.REFUNDED: LedgerKind.REFUND}
    if to not in kinds:
        raise ServiceError(_("A period can only be cancelled or refunded."))
    with transaction.atomic():
        card = card_lock(period.card)
        period = Period.objects.get(pk=period.pk)
        if LedgerEntry.objects.filter(reference=reference, seq=0).exists():
            return period
        _advance(card, now)
        period.refresh_from_db()
        remainder = 0 if period.unlimited else period.remaining_bytes
        period.move(to, at=now)
        period.save(update_fields=["state", "closed_at", "activated_at", "updated_at"])
        ledger_apply(card=card, period=period, kind=kinds[to], amount=-remainder,
                     reference=reference, at=now, now=now)
        _advance(card, now)
        card_sync_state(card=card, at=now)
        return period


def period_adjust(*, period: Period, amount: int, reference: str, now: datetime,
                  note: str = "") -> LedgerEntry:
    """Staff correction of a period's data by ``amount`` bytes (signed); never below zero.
    A used-up period that gets data back before its end is active again.

    Calling again with the same ``reference`` returns the first entry.
    """
    if amount == 0:
        raise ServiceError(_("An adjustment needs a number of bytes other than zero."))
    with transaction.atomic():
        card = card_lock(period.card)
        existing = LedgerEntry.objects.filter(reference=reference, seq=0).first()
        if existing is not None:
            return existing
        period = Period.objects.get(pk=period.pk)
        if period.unlimited:
            raise ServiceError(_("An unlimited period has no balance to adjust."))
        if period.state not in (PeriodState.ACTIVE, PeriodState.QUEUED, PeriodState.EXHAUSTED):
            raise ServiceError(_("Only a queued, active or used-up period can be adjusted."))
        if period.remaining_bytes + amount < 0:
            raise ServiceError(_("The period has only %(left)d bytes left to take away.")
                               % {"left": period.remaining_bytes})
        entry = ledger_apply(card=card, period=period, kind=LedgerKind.ADJUSTMENT, amount=amount,
                             reference=reference, at=now, now=now, note=note)
        if (period.state == PeriodState.EXHAUSTED and period.remaining_bytes > 0
                and (period.ends_at is None or period.ends_at > now)):
            period.move(PeriodState.ACTIVE, at=now)
            period.save(update_fields=["state", "closed_at", "activated_at", "updated_at"])
        _advance(card, now)
        card_sync_state(card=card, at=now)
        return entry
