"""Reads about cards that encode a rule: ownership, balances, due work, usage history."""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from functools import cache

from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy as ngettext

from simdesk.catalog.models import PlanKind
from simdesk.core.errors import Conflict, NotFound
from simdesk.core.rows import (
    column,
    column_count,
    fetch_all,
    model_columns,
    model_from_row,
    table,
)

from .models import Card, CardState, LedgerEntry, LedgerKind, Period, PeriodState

OPEN_PERIODS = "open_periods"


def _open_periods_query() -> QuerySet[Period]:
    return Period.objects.filter(state__in=(PeriodState.ACTIVE, PeriodState.QUEUED)).order_by(
        "created_at", "id")


@cache
def _card_with_open_periods_sql(vendor: str) -> str:
    """The card (by public id and owner) and its open periods, oldest first: one row per
    period, or one row of the card with NULL periods when none is open."""
    return (f"SELECT {model_columns(Card, 'c')}, {model_columns(Period, 'p')} "  # noqa: S608
            f"FROM {table(Card, 'c')} LEFT OUTER JOIN {table(Period, 'p')} "
            f"ON {column(Period, 'p', 'card')} = {column(Card, 'c', 'pk')} "
            f"AND {column(Period, 'p', 'state')} IN (%s, %s) "
            f"WHERE {column(Card, 'c', 'public_id')} = %s AND {column(Card, 'c', 'owner')} = %s "
            f"ORDER BY {column(Period, 'p', 'created_at')}, {column(Period, 'p', 'pk')}")


def _card_with_open_periods(*, key: uuid.UUID, customer) -> Card | None:
    """The customer's card with what ``card_balance`` needs, in one query.

    Written as SQL, not a queryset: the balance endpoint runs it on every call, where
    compiling the ORM's query cost several times more than running it
    (bench/api_balance.sh). Ownership is in the same WHERE as the card's id."""
    public_id = Card._meta.get_field("public_id").get_db_prep_value(key, connection)
    rows = fetch_all(_card_with_open_periods_sql(connection.vendor),
                     [PeriodState.ACTIVE.value, PeriodState.QUEUED.value, public_id, customer.pk])
    if not rows:
        return None
    card = model_from_row(Card, rows[0])
    start = column_count(Card)
    periods = []
    for row in rows:
        if row[start] is None:  # the LEFT JOIN found no open period
            continue
        period = model_from_row(Period, row, start)
        period.card = card
        periods.append(period)
    setattr(card, OPEN_PERIODS, periods)
    return card


def card_get_for_customer(*, customer, card_public_id: str | uuid.UUID,
                          with_balance: bool = False) -> Card:
    """The customer's own card; any other card, or a malformed id, is NotFound.

    ``with_balance`` also loads what ``card_balance`` needs, in the same single query
    (the API's card detail and balance: one query, not two)."""
    try:
        key = card_public_id if isinstance(card_public_id, uuid.UUID) else uuid.UUID(
            str(card_public_id))
    except ValueError:
        key = None
    card = None
    if key is not None and customer is not None and customer.pk is not None:
        if with_balance:
            card = _card_with_open_periods(key=key, customer=customer)
        else:
            card = Card.objects.filter(public_id=key, owner=customer).first()
    if card is None:
        raise NotFound(_("We could not find this card in your account."))
    return card


def cards_for_customer(*, customer, with_balances: bool = False) -> QuerySet[Card]:
    """The customer's cards; ``with_balances`` loads what ``card_balance`` needs for all
    of them in one more query, instead of one per card."""
    cards = Card.objects.filter(owner=customer).order_by("label", "iccid")
    if with_balances:
        cards = cards.prefetch_related(
            Prefetch("periods", queryset=_open_periods_query(), to_attr=OPEN_PERIODS))
    return cards


@dataclass
class QueuedPeriod:
    public_id: uuid.UUID
    names: dict
    plan_code: str
    total_bytes: int | None
    validity_days: int

    def name_for(self, language: str | None) -> str:
        return Period(names=self.names, plan_code=self.plan_code).name_for(language)


@dataclass
class CardBalance:
    """What a customer sees about a card's data at ``now``."""

    state: str
    remaining_bytes: int  # across active limited periods
    total_bytes: int
    unlimited: bool
    valid_until: datetime | None  # end of the longest-running started period
    waiting_for_first_use: bool  # an active period whose clock starts at first use
    next_queued: QueuedPeriod | None
    queued_count: int
    usage_updated_at: datetime | None
    overage_bytes: int
    active_periods: list[Period] = field(default_factory=list)

    @property
    def has_data(self) -> bool:
        return self.unlimited or self.remaining_bytes > 0

    @property
    def used_percent(self) -> int:
        if self.unlimited or not self.total_bytes:
            return 0
        return min(100, (self.total_bytes - self.remaining_bytes) * 100 // self.total_bytes)


def _end_if_resumed_now(period: Period, card: Card, now: datetime) -> datetime | None:
    """A paused card's period ends later by the time its clock has stood still so far
    (the rule of cards/services/pause.py, as if the pause ended at ``now``)."""
    if period.ends_at is None or card.paused_at is None:
        return period.ends_at
    end = min(now, card.pause_until or now)
    stood_still = end - max(card.paused_at, period.starts_at or card.paused_at)
    return period.ends_at + max(stood_still, timedelta(0))


def card_balance(*, card: Card, now: datetime) -> CardBalance:
    """The balance as it is at ``now``, even if a sweep has not yet expired what ended.
    For a paused card, ends are where resuming now would put them."""
    periods = getattr(card, OPEN_PERIODS, None)
    if periods is None:
        periods = list(_open_periods_query().filter(card=card))
    if card.paused_at is None:
        active = [p for p in periods if p.state == PeriodState.ACTIVE
                  and (p.ends_at is None or p.ends_at > now)]
        ends = [p.ends_at for p in active if p.ends_at is not None]
    else:
        active = [p for p in periods if p.state == PeriodState.ACTIVE
                  and (p.ends_at is None or _end_if_resumed_now(p, card, now) > now)]
        ends = [_end_if_resumed_now(p, card, now) for p in active if p.ends_at is not None]
    queued = [p for p in periods if p.state == PeriodState.QUEUED]
    limited = [p for p in active if not p.unlimited]
    head = queued[0] if queued else None
    return CardBalance(
        state=card.state,
        remaining_bytes=sum(p.remaining_bytes for p in limited),
        total_bytes=sum(p.total_bytes for p in limited),
        unlimited=any(p.unlimited for p in active),
        valid_until=max(ends) if ends else None,
        waiting_for_first_use=any(p.ends_at is None for p in active),
        next_queued=QueuedPeriod(head.public_id, head.names, head.plan_code, head.total_bytes,
                                 head.validity_days) if head else None,
        queued_count=len(queued),
        usage_updated_at=card.usage_updated_at,
        overage_bytes=card.overage_bytes,
        active_periods=active,
    )


def card_usage_by_day(*, card: Card, now: datetime, tz: tzinfo,
                      days: int = 30) -> list[tuple[date, int]]:
    """Bytes used per local day for the last ``days`` days up to today (zeros included),
    counted from the ledger's usage and overage rows by the time the usage happened."""
    today = now.astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    rows = (LedgerEntry.objects
            .filter(card=card, kind__in=(LedgerKind.DEBIT_USAGE, LedgerKind.OVERAGE),
                    at__gte=since, at__lte=now)
            .annotate(day=TruncDate("at", tzinfo=tz)).values("day")
            .annotate(used=Sum("bytes")))
    used = {row["day"]: -row["used"] for row in rows}
    return [(first + timedelta(days=i), used.get(first + timedelta(days=i), 0))
            for i in range(days)]


def card_ledger(*, card: Card) -> QuerySet[LedgerEntry]:
    """The card's ledger, newest first (for history pages)."""
    return card.ledger.select_related("period").order_by("-id")


def cards_with_due_work(*, now: datetime) -> QuerySet[Card]:
    """Cards whose periods need moving on: an active period past its end or used up,
    or a queued period with nothing active in front of it. Paused cards wait (also
    a paused card that staff suspended: its pause still runs underneath)."""
    active = Period.objects.filter(card=OuterRef("pk"), state=PeriodState.ACTIVE)
    due = Exists(active.filter(Q(ends_at__lte=now) | Q(unlimited=False, remaining_bytes=0)))
    queued = Period.objects.filter(card=OuterRef("pk"), state=PeriodState.QUEUED)
    stranded = Exists(queued) & ~Exists(active)
    return (Card.objects.exclude(state=CardState.PAUSED).filter(paused_at__isnull=True)
            .filter(due | stranded).order_by("pk"))


# --- Pause (cards/services/pause.py has the rules) ---------------------------------------------

def card_pause_period(*, card: Card) -> Period | None:
    """The period whose terms decide whether the card can be paused and for how long: the
    active base period that ends last (the one a renewal continues); else an active
    base period waiting for its first use; else, with only top-ups active, the top-up
    that ends last. None when nothing is active."""
    active = list(card.periods.filter(state=PeriodState.ACTIVE))
    for candidates in ([p for p in active if p.kind == PlanKind.BASE], active):
        started = [p for p in candidates if p.ends_at is not None]
        if started:
            return max(started, key=lambda p: (p.ends_at, p.pk))
        if candidates:
            return min(candidates, key=lambda p: (p.activated_at or p.created_at, p.pk))
    return None


def period_pause_left(*, period: Period) -> timedelta:
    """What is left of the period's pause allowance (never below zero)."""
    allowance = period.max_pause_days * 86400 if period.pausable else 0
    return timedelta(seconds=max(0, allowance - period.paused_seconds))


def card_pause_refusal(*, card: Card, period: Period | None) -> Conflict | None:
    """Why the customer cannot pause ``card`` now (``period`` from ``card_pause_period``),
    or None when they can. The service raises it; pages show it."""
    if card.state == CardState.TERMINATED:
        return Conflict(_("This card is terminated; it cannot be paused."),
                        code="card_terminated")
    if card.state == CardState.SUSPENDED:
        return Conflict(_("This card is suspended by our staff, so it cannot be paused or "
                          "resumed. Contact support to find out why."), code="card_suspended")
    if card.paused_at is not None or card.state == CardState.PAUSED:
        return Conflict(_("This card is already paused."), code="already_paused")
    if period is None:
        return Conflict(_("This card has no active plan, so there is nothing to pause. Buy a "
                          "plan first."), code="no_active_plan")
    if not period.pausable:
        return Conflict(_("The plan on this card cannot be paused."), code="not_pausable")
    if period_pause_left(period=period) <= timedelta(0):
        return Conflict(ngettext("You have already used the %(days)d day of pause this plan "
                                 "allows.",
                                 "You have already used all %(days)d days of pause this plan "
                                 "allows.", period.max_pause_days)
                        % {"days": period.max_pause_days}, code="pause_used_up")
    return None


def card_resume_refusal(*, card: Card) -> Conflict | None:
    """Why the customer cannot end the pause of ``card`` now, or None when they can."""
    if card.state == CardState.TERMINATED:
        return Conflict(_("This card is terminated; it cannot be resumed."),
                        code="card_terminated")
    if card.state == CardState.SUSPENDED:
        return Conflict(_("This card is suspended by our staff, so it cannot be paused or "
                          "resumed. Contact support to find out why."), code="card_suspended")
    if card.paused_at is None:
        return Conflict(_("This card is not paused."), code="not_paused")
    return None


@dataclass
class PauseStatus:
    """What the customer can do about pausing ``card`` now, for pages and the API."""

    card: Card
    period: Period | None  # whose terms decide (None when nothing is active)
    paused_at: datetime | None
    pause_until: datetime | None  # when the running pause ends by itself
    max_pause_days: int
    pause_left: timedelta  # of the allowance, not counting a running pause
    can_pause: bool
    can_resume: bool
    refusal: str  # why the card cannot be paused (or resumed, while paused); "" when it can

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    @property
    def pausable(self) -> bool:
        return self.period is not None and self.period.pausable

    @property
    def pause_left_days(self) -> int:
        """Whole days left of the allowance (rounded down), for plain words."""
        return self.pause_left.days


def card_pause_status(*, card: Card, now: datetime) -> PauseStatus:
    period = card.pause_period if card.paused_at is not None else card_pause_period(card=card)
    if card.paused_at is not None:
        refusal = card_resume_refusal(card=card)
    else:
        refusal = card_pause_refusal(card=card, period=period)
    return PauseStatus(
        card=card, period=period, paused_at=card.paused_at, pause_until=card.pause_until,
        max_pause_days=period.max_pause_days if period is not None and period.pausable else 0,
        pause_left=period_pause_left(period=period) if period is not None else timedelta(0),
        can_pause=card.paused_at is None and refusal is None,
        can_resume=card.paused_at is not None and refusal is None,
        refusal=str(refusal) if refusal is not None else "",
    )


def cards_pause_due(*, now: datetime) -> QuerySet[Card]:
    """Cards whose pause has reached its maximum and must end (whatever their state)."""
    return Card.objects.filter(paused_at__isnull=False, pause_until__lte=now).order_by("pk")
