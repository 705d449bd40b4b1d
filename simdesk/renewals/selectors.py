"""Reading renewal state: whose renewal is due, and a card's settings for its owner."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet

from simdesk.cards.models import Card, CardState, Period, PeriodState
from simdesk.cards.selectors import card_get_for_customer
from simdesk.catalog.models import Plan, PlanKind, PlanStatus, Stacking
from simdesk.payments.models import SavedPaymentMethod

from .models import AttemptStatus, RenewalAttempt, RenewalSettings


def renewal_reminder_hours() -> int:
    return int(getattr(settings, "RENEWAL_REMINDER_HOURS", 24))


def renewal_max_per_24h() -> int:
    return int(getattr(settings, "RENEWAL_MAX_PER_24H", 2))


def renewal_settings_for_customer(*, customer, card_public_id) -> RenewalSettings:
    """The card's renewal settings (unsaved defaults if never set); NotFound if the card
    is not the customer's."""
    card = card_get_for_customer(customer=customer, card_public_id=card_public_id)
    return renewal_settings_of(card=card)


def renewal_settings_of(*, card: Card) -> RenewalSettings:
    found = RenewalSettings.objects.filter(card=card).select_related("plan").first()
    return found or RenewalSettings(card=card, enabled=False)


def renewable_plans() -> QuerySet[Plan]:
    """Plans auto-renewal may buy: on sale, renewable, base plans that queue behind the
    current period (so the new period starts exactly when the old one ends)."""
    return (Plan.objects.filter(renewable=True, kind=PlanKind.BASE, stacking=Stacking.QUEUE)
            .filter(status=PlanStatus.ACTIVE).prefetch_related("prices", "translations")
            .order_by("code"))


def payment_methods_for(*, customer) -> QuerySet[SavedPaymentMethod]:
    return SavedPaymentMethod.objects.filter(customer=customer, removed_at__isnull=True)


def renewal_current_period(*, card: Card) -> Period | None:
    """The period a renewal continues: the card's active base period ending last."""
    periods = [p for p in card.periods.filter(state=PeriodState.ACTIVE, kind=PlanKind.BASE)
               if p.ends_at is not None]
    return max(periods, key=lambda p: (p.ends_at, p.pk), default=None)


@dataclass(frozen=True)
class Due:
    card: Card
    period: Period
    reason: str  # "before_expiry" or "low_data"


def renewal_charge_at(*, rs: RenewalSettings, period: Period) -> datetime | None:
    """When the before-expiry trigger charges for ``period`` (None: that trigger is off)."""
    if rs.trigger_before_expiry_hours is None or period.ends_at is None:
        return None
    return period.ends_at - timedelta(hours=rs.trigger_before_expiry_hours)


def renewal_due_reason(*, rs: RenewalSettings, period: Period, now: datetime) -> str:
    """Why ``period`` should be renewed now ("" if it should not)."""
    charge_at = renewal_charge_at(rs=rs, period=period)
    if charge_at is not None and charge_at <= now < period.ends_at:
        return "before_expiry"
    percent = rs.trigger_low_data_percent
    if (percent is not None and not period.unlimited and period.total_bytes
            and period.remaining_bytes * 100 <= percent * period.total_bytes):
        return "low_data"
    return ""


def _candidates() -> QuerySet[RenewalSettings]:
    # A card with a period already queued behind the current one has its next period.
    return (RenewalSettings.objects.filter(enabled=True, card__state=CardState.ACTIVE)
            .exclude(card__periods__state=PeriodState.QUEUED)
            .select_related("card", "plan").order_by("pk"))


def _started(period: Period) -> bool:
    """An attempt beyond "scheduled" (the reminder's placeholder) exists for the period."""
    return (RenewalAttempt.objects.filter(period=period)
            .exclude(status=AttemptStatus.SCHEDULED).exists())


def cards_due_for_renewal(*, now: datetime) -> list[Due]:
    """Enabled, active cards whose current period ends within the before-expiry window or
    has at most the low-data share left, with no renewal attempt yet for that period."""
    due = []
    for rs in _candidates().iterator():
        period = renewal_current_period(card=rs.card)
        if period is None or _started(period):
            continue
        reason = renewal_due_reason(rs=rs, period=period, now=now)
        if reason:
            due.append(Due(card=rs.card, period=period, reason=reason))
    return due


def cards_due_for_reminder(*, now: datetime) -> list[Due]:
    """Cards whose before-expiry charge is at most RENEWAL_REMINDER_HOURS away (and still
    ahead), not yet reminded for the current period."""
    ahead = timedelta(hours=renewal_reminder_hours())
    due = []
    for rs in _candidates().filter(trigger_before_expiry_hours__isnull=False).iterator():
        period = renewal_current_period(card=rs.card)
        charge_at = period and renewal_charge_at(rs=rs, period=period)
        if charge_at is None or not (charge_at - ahead <= now < charge_at):
            continue
        if RenewalAttempt.objects.filter(period=period, reminder_sent_at__isnull=False).exists():
            continue
        if _started(period):
            continue
        due.append(Due(card=rs.card, period=period, reason="reminder"))
    return due


def renewal_attempts_due_retry(*, now: datetime) -> QuerySet[RenewalAttempt]:
    """Failed attempts whose next try is due, and charges a crashed worker left behind."""
    from django.db.models import Q

    return RenewalAttempt.objects.filter(
        Q(status=AttemptStatus.FAILED, next_attempt_at__lte=now)
        | Q(status=AttemptStatus.CHARGING, claimed_until__lte=now)
    ).order_by("next_attempt_at", "pk")


def renewals_succeeded_recently(*, card: Card, now: datetime) -> int:
    return RenewalAttempt.objects.filter(card=card, status=AttemptStatus.SUCCEEDED,
                                         succeeded_at__gt=now - timedelta(hours=24)).count()
