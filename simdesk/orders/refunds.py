"""How much of a period's price is refunded: the pro-rata rule, in one place.

Rule (DESIGN.md §2, plan change and refunds): the unused part of a period is its
price times the *smaller* of the unused share of its days and the unused share of
its data, so a customer who used most of the data early, or most of the time
with little data, gets back only what is left of the scarcer of the two.

- Exact arithmetic: shares are ``Fraction``s of integers (seconds, bytes) and the
  amount is ``floor(paid_minor × share)``; no float ever touches money.
- Rounding: down to a whole minor unit of the currency (1 yen in JPY, 1 fen in
  CNY, 1 cent in USD), so the customer may get at most one minor unit less than
  the exact share, never more. Amounts are already integers of minor units, so
  the rule is the same in every currency whatever its number of decimals.
- Unlimited periods: a data share means nothing (there is no allowance to use
  up), so only the days share counts.
- A period not started yet (queued, or an ``on_first_use`` period nobody used)
  is fully unused: both shares are 1.
- Time is counted in whole seconds, rounded down (in the same direction as the
  amount). While the card is paused its clock stands still, so the unused time is
  measured up to the moment it was paused.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from simdesk.cards.models import LedgerKind, Period, PeriodState
from simdesk.core.errors import ServiceError
from simdesk.core.money import Money
from simdesk.payments.models import PaymentStatus

from .models import Order, OrderStatus

SECOND = timedelta(seconds=1)
DAY_SECONDS = 24 * 3600


def prorata_share(*, unused_seconds: int, total_seconds: int, unused_bytes: int | None,
                  total_bytes: int | None) -> Fraction:
    """The unused share of a period, between 0 and 1: the smaller of the days share and the
    data share (days share alone when ``total_bytes`` is None, i.e. unlimited)."""
    if total_seconds <= 0:
        raise ValueError("a period lasts a positive number of seconds")
    share = _clamp(Fraction(unused_seconds, total_seconds))
    if total_bytes is not None and total_bytes > 0:
        share = min(share, _clamp(Fraction(unused_bytes or 0, total_bytes)))
    return share


def prorata_amount_minor(*, paid_minor: int, share: Fraction) -> int:
    """``floor(paid_minor × share)``: rounded down to a whole minor unit."""
    if not isinstance(paid_minor, int) or paid_minor < 0:
        raise ValueError("paid_minor is a non-negative integer")
    share = _clamp(share)
    return paid_minor * share.numerator // share.denominator


def _clamp(share: Fraction) -> Fraction:
    return max(Fraction(0), min(Fraction(1), share))


def refund_window() -> timedelta:
    """How long after the purchase an unused period is refunded in full without review."""
    return timedelta(days=int(getattr(settings, "REFUND_WINDOW_DAYS", 14)))


def period_unused_seconds(*, period: Period, now: datetime) -> int:
    """Seconds of validity left at ``now`` (all of them if the clock has not started)."""
    total = period.validity_days * DAY_SECONDS
    if period.state == PeriodState.QUEUED or period.starts_at is None or period.ends_at is None:
        return total
    clock = now
    paused_at = getattr(period.card, "paused_at", None)
    if paused_at is not None:
        clock = min(now, paused_at)  # the validity clock stands still while paused
    left = (period.ends_at - clock) // SECOND
    return max(0, min(total, left))


@dataclass(frozen=True)
class RefundQuote:
    """What refunding ``period`` at ``at`` would give back, and whether it is automatic."""

    period: Period
    order: Order
    currency: str
    paid_minor: int
    refundable_minor: int  # what is left of the payment to give back
    unused_seconds: int
    total_seconds: int
    unused_bytes: int | None  # None: unlimited
    total_bytes: int | None
    share: Fraction
    prorata_minor: int
    unused: bool  # no data used and still open
    within_window: bool
    at: datetime

    @property
    def automatic(self) -> bool:
        """Unused and bought within the refund window: refunded in full, no review."""
        return self.unused and self.within_window

    @property
    def amount_minor(self) -> int:
        """What the customer gets back on this path: all of it when automatic, else the
        pro-rata amount staff are offered (never more than is left of the payment)."""
        amount = self.paid_minor if self.automatic else self.prorata_minor
        return min(amount, self.refundable_minor)

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)

    @property
    def paid(self) -> Money:
        return Money(self.paid_minor, self.currency)

    @property
    def days_percent(self) -> int:
        return self.unused_seconds * 100 // self.total_seconds

    @property
    def data_percent(self) -> int | None:
        if self.total_bytes is None or self.total_bytes <= 0:
            return None
        return (self.unused_bytes or 0) * 100 // self.total_bytes


NOT_REFUNDABLE = _("This plan was not bought with a payment we can refund here. Contact "
                   "support if you think it should be.")


def period_refund_quote(*, period: Period, now: datetime,
                        time_at: datetime | None = None) -> RefundQuote:
    """Quote the refund of ``period`` at ``now`` (``time_at``, when given, is the moment the
    days share is measured at; the data share is always measured as it is now).

    Refuses (ServiceError) a period that has ended, that was not bought with a payment
    (staff grants, coupons covering it all), that was extended by later purchases (its
    data and days are then not this order's alone: staff decide), or whose payment
    has nothing left to give back.
    """
    if period.state not in (PeriodState.QUEUED, PeriodState.ACTIVE, PeriodState.EXHAUSTED):
        raise ServiceError(_("This plan has already ended, so there is nothing left to "
                             "refund."), code="period_closed")
    order = (Order.objects.select_related("payment", "customer", "card")
             .filter(period=period).first())
    if (order is None or order.paid_at is None or order.payment is None
            or order.total_minor == 0 or order.status not in (
                OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED)):
        raise ServiceError(NOT_REFUNDABLE, code="period_not_refundable")
    payment = order.payment
    if payment.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED):
        raise ServiceError(NOT_REFUNDABLE, code="period_not_refundable")
    if period.ledger.filter(kind=LedgerKind.CREDIT_EXTEND).exists():
        raise ServiceError(_("Later purchases were added to this plan, so its refund needs a "
                             "person: contact support."), code="period_extended")
    refundable = min(payment.refundable_minor, int(order.total_minor))
    if refundable <= 0:
        raise ServiceError(_("This plan's payment was already refunded."),
                           code="already_refunded")

    total_seconds = period.validity_days * DAY_SECONDS
    unused_seconds = period_unused_seconds(period=period, now=time_at or now)
    if period.unlimited:
        unused_bytes = total_bytes = None
    else:
        unused_bytes, total_bytes = int(period.remaining_bytes), int(period.total_bytes)
    share = prorata_share(unused_seconds=unused_seconds, total_seconds=total_seconds,
                          unused_bytes=unused_bytes, total_bytes=total_bytes)
    paid = int(order.total_minor)
    return RefundQuote(
        period=period, order=order, currency=order.currency, paid_minor=paid,
        refundable_minor=refundable, unused_seconds=unused_seconds,
        total_seconds=total_seconds, unused_bytes=unused_bytes, total_bytes=total_bytes,
        share=share, prorata_minor=prorata_amount_minor(paid_minor=paid, share=share),
        unused=(period.used_bytes == 0 and period.state != PeriodState.EXHAUSTED),
        within_window=now - order.paid_at <= refund_window(), at=now,
    )
