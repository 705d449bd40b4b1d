"""Reading renewal state: whose renewal is due, and a card's settings for its owner."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from simdesk.cards.models import Card, CardState, Period, PeriodState
from simdesk.cards.selectors import card_get_for_customer
from simdesk.catalog.models import Plan, PlanKind, PlanStatus, Stacking
from simdesk.core.errors import NotFound
from simdesk.core.money import Money
from simdesk.payments.gateways import enabled_gateways
from simdesk.payments.models import Payment, PaymentStatus, SavedPaymentMethod

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


def renewal_gateway_names() -> list[str]:
    """Gateways that can charge a saved method now: enabled, and able to keep methods."""
    return [g.name for g in enabled_gateways() if g.supports_saved_methods]


def payment_methods_for(*, customer) -> QuerySet[SavedPaymentMethod]:
    """The customer's saved methods auto-renewal can charge: not removed, and kept by a
    gateway that is enabled and can charge saved methods."""
    return SavedPaymentMethod.objects.filter(customer=customer, removed_at__isnull=True,
                                             gateway__in=renewal_gateway_names())


def renewal_method_problem(*, rs: RenewalSettings) -> str:
    """Why the saved method chosen for ``rs`` cannot be charged ("" if it can, or if none
    is chosen), written for the customer."""
    method = rs.payment_method
    if method is None:
        return ""
    if method.removed_at is not None:
        return str(_("The payment method chosen for this card (%(method)s) was removed. "
                     "Choose another one, or auto-renewal cannot buy the next plan.")
                   % {"method": method})
    if method.gateway not in renewal_gateway_names():
        return str(_("The payment method chosen for this card (%(method)s) can no longer be "
                     "used: its payment service is not offered any more. Choose another "
                     "one, or auto-renewal cannot buy the next plan.") % {"method": method})
    return ""


def renewal_current_period(*, card: Card) -> Period | None:
    """The period a renewal continues: the card's active base period ending last."""
    periods = [p for p in card.periods.filter(state=PeriodState.ACTIVE, kind=PlanKind.BASE)
               if p.ends_at is not None]
    return max(periods, key=lambda p: (p.ends_at, p.pk), default=None)


@dataclass(frozen=True)
class Due:
    card_id: int
    period_id: int
    reason: str  # "before_expiry", "low_data" or "reminder"


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


# Cards are read a page at a time, so a sweep over any number of cards runs in flat
# memory and a fixed number of queries per page (settings, periods, attempts).
PAGE = 1000


def _candidate_pages(now: datetime, *, reminders: bool) -> Iterator[
        list[tuple[RenewalSettings, Period]]]:
    """Pages of (settings, current period) for enabled, active cards with nothing queued
    yet behind the current period and no renewal task handed out recently."""
    candidates = (RenewalSettings.objects.filter(enabled=True, card__state=CardState.ACTIVE)
                  .exclude(card__periods__state=PeriodState.QUEUED)
                  .filter(Q(enqueued_until__isnull=True) | Q(enqueued_until__lte=now))
                  .only("pk", "card_id", "trigger_before_expiry_hours",
                        "trigger_low_data_percent")
                  .order_by("pk"))
    if reminders:
        candidates = candidates.filter(trigger_before_expiry_hours__isnull=False)
    last = 0
    while page := list(candidates.filter(pk__gt=last)[:PAGE]):
        last = page[-1].pk
        current: dict[int, Period] = {}
        for period in (Period.objects.filter(card_id__in=[rs.card_id for rs in page],
                                             state=PeriodState.ACTIVE, kind=PlanKind.BASE,
                                             ends_at__isnull=False)
                       .only("pk", "card_id", "ends_at", "unlimited", "total_bytes",
                             "remaining_bytes")):
            held = current.get(period.card_id)
            if held is None or (period.ends_at, period.pk) > (held.ends_at, held.pk):
                current[period.card_id] = period
        yield [(rs, current[rs.card_id]) for rs in page if rs.card_id in current]


def _period_ids(attempts: QuerySet[RenewalAttempt], pairs) -> set[int]:
    return set(attempts.filter(period_id__in=[period.pk for _rs, period in pairs])
               .values_list("period_id", flat=True))


def cards_due_for_renewal(*, now: datetime) -> Iterator[Due]:
    """Enabled, active cards whose current period ends within the before-expiry window or
    has at most the low-data share left, with no renewal attempt yet for that period.
    Yields in card-settings order, reading a page of cards at a time."""
    started = RenewalAttempt.objects.exclude(status=AttemptStatus.SCHEDULED)
    for pairs in _candidate_pages(now, reminders=False):
        taken = _period_ids(started, pairs)
        for rs, period in pairs:
            if period.pk in taken:
                continue
            reason = renewal_due_reason(rs=rs, period=period, now=now)
            if reason:
                yield Due(card_id=rs.card_id, period_id=period.pk, reason=reason)


def cards_due_for_reminder(*, now: datetime) -> Iterator[Due]:
    """Cards whose before-expiry charge is at most RENEWAL_REMINDER_HOURS away (and still
    ahead), not yet reminded for the current period and not being renewed."""
    ahead = timedelta(hours=renewal_reminder_hours())
    handled = RenewalAttempt.objects.filter(Q(reminder_sent_at__isnull=False)
                                            | ~Q(status=AttemptStatus.SCHEDULED))
    for pairs in _candidate_pages(now, reminders=True):
        taken = _period_ids(handled, pairs)
        for rs, period in pairs:
            charge_at = renewal_charge_at(rs=rs, period=period)
            if period.pk not in taken and charge_at - ahead <= now < charge_at:
                yield Due(card_id=rs.card_id, period_id=period.pk, reason="reminder")


def renewal_attempts_due_retry(*, now: datetime) -> QuerySet[RenewalAttempt]:
    """Failed attempts whose next try is due, charges a crashed worker left behind, and
    charges whose customer did not confirm them with their bank in time."""
    return RenewalAttempt.objects.filter(
        Q(status=AttemptStatus.FAILED, next_attempt_at__lte=now)
        | Q(status=AttemptStatus.CHARGING, claimed_until__lte=now)
        | Q(status=AttemptStatus.AWAITING_AUTHENTICATION, authenticate_by__lte=now)
    ).order_by("next_attempt_at", "pk")


def renewals_succeeded_recently(*, card: Card, now: datetime) -> int:
    return RenewalAttempt.objects.filter(card=card, status=AttemptStatus.SUCCEEDED,
                                         succeeded_at__gt=now - timedelta(hours=24)).count()


@dataclass(frozen=True)
class RenewalAuthentication:
    """A renewal charge the customer's bank asked them to confirm, as the customer sees it."""

    payment: Payment
    card: Card
    plan_name: str
    amount: Money
    method_label: str
    authenticate_by: datetime | None
    #: "open" (confirm it now), "renewed" (it went through) or "closed" (too late, failed
    #: or replaced by a later try)
    state: str

    @property
    def bank_url(self) -> str:
        """The gateway's authentication address, if it is one a link may point at."""
        url = self.payment.redirect_url
        if url.startswith(("https://", "http://")) or (url.startswith("/")
                                                       and not url.startswith("//")):
            return url
        return ""


def renewal_authentication_for_customer(*, customer, payment_public_id, now: datetime,
                                        language: str) -> RenewalAuthentication:
    """The renewal charge ``payment_public_id`` of ``customer``, waiting for (or past) the
    bank's confirmation; NotFound if it is not theirs or not a renewal charge."""
    payment = (Payment.objects.filter(public_id=payment_public_id, customer=customer,
                                      off_session=True)
               .select_related("saved_method").first())
    attempt = payment and (RenewalAttempt.objects
                           .filter(idempotency_key=payment.reference, card__owner=customer)
                           .select_related("card", "order__plan", "period__plan").first())
    if attempt is None:
        raise NotFound(_("This payment was not found."), code="payment_not_found")
    plan = attempt.order.plan if attempt.order_id else attempt.period.plan
    current = payment.idempotency_key == f"{attempt.idempotency_key}:{attempt.attempt_count}"
    if payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED,
                          PaymentStatus.REFUNDED):
        state = "renewed"
    elif (current and payment.status == PaymentStatus.REQUIRES_ACTION
          and attempt.status == AttemptStatus.AWAITING_AUTHENTICATION
          and attempt.authenticate_by and attempt.authenticate_by > now):
        state = "open"
    else:
        state = "closed"
    return RenewalAuthentication(
        payment=payment, card=attempt.card, plan_name=plan.name_for(language),
        amount=Money(payment.amount_minor, payment.currency),
        method_label=str(payment.saved_method or ""),
        authenticate_by=attempt.authenticate_by if state == "open" else None, state=state)


def renewal_waiting_payment(*, card: Card) -> Payment | None:
    """The renewal charge of ``card`` its customer's bank waits for them to confirm."""
    attempt = (RenewalAttempt.objects.filter(card=card,
                                             status=AttemptStatus.AWAITING_AUTHENTICATION)
               .order_by("-created_at").first())
    if attempt is None:
        return None
    return Payment.objects.filter(
        idempotency_key=f"{attempt.idempotency_key}:{attempt.attempt_count}",
        status=PaymentStatus.REQUIRES_ACTION).first()
