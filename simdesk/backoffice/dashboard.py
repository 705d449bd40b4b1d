"""The dashboard's figures: each a single aggregate query over a range of days, grouped by
the day in the staff member's time zone (``TruncDate(..., tzinfo=zone)``), with the days
that had nothing filled in as zeros.

Money is summed per currency and never across currencies. A day is a calendar day in
``DayRange.zone``: the range runs from midnight of its first day to midnight after its
last, so an order paid at 23:30 in Shanghai counts on that Shanghai day, whatever the
UTC date was.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncDate

from simdesk.cards.models import Card, CardState, LedgerEntry, LedgerKind
from simdesk.orders.models import Order, OrderEvent, OrderStatus
from simdesk.renewals.models import AttemptStatus, RenewalAttemptEvent
from simdesk.support.models import Ticket, TicketStatus

MAX_DAYS = 366
DEFAULT_DAYS = 30
TOP_PLANS = 10


@dataclass(frozen=True)
class DayRange:
    first: date
    last: date
    zone: tzinfo

    @classmethod
    def ending_today(cls, *, now: datetime, zone: tzinfo, days: int = DEFAULT_DAYS
                     ) -> "DayRange":
        today = now.astimezone(zone).date()
        return cls(first=today - timedelta(days=days - 1), last=today, zone=zone)

    @property
    def start(self) -> datetime:
        """Midnight at the start of the first day, in the zone."""
        return datetime.combine(self.first, time.min, tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        """Midnight after the last day, in the zone (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=self.zone)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def per_day(self, values: dict[date, int]) -> list[int]:
        return [int(values.get(day, 0)) for day in self.days]


def _by_day(queryset, field: str, zone: tzinfo):
    return queryset.annotate(day=TruncDate(field, tzinfo=zone)).order_by()


def dashboard_revenue(*, days: DayRange) -> dict[str, list[int]]:
    """Per currency (sorted), the total in minor units of the orders paid on each day.
    Orders refunded later still count on the day they were paid (gross takings)."""
    rows = (_by_day(Order.objects.filter(paid_at__gte=days.start, paid_at__lt=days.end),
                    "paid_at", days.zone)
            .values("day", "currency").annotate(amount=Sum("total_minor")))
    found: dict[str, dict[date, int]] = defaultdict(dict)
    for row in rows:
        found[row["currency"]][row["day"]] = row["amount"]
    return {currency: days.per_day(found[currency]) for currency in sorted(found)}


def dashboard_orders(*, days: DayRange) -> dict[str, list[int]]:
    """Per day, how many orders were paid, and how many failed or expired unpaid
    (from the orders' status history: an order that failed twice on one day counts once)."""
    failed = (OrderStatus.PAYMENT_FAILED, OrderStatus.EXPIRED)
    rows = (_by_day(OrderEvent.objects.filter(at__gte=days.start, at__lt=days.end,
                                              to_status__in=(OrderStatus.PAID, *failed)),
                    "at", days.zone)
            .values("day")
            .annotate(paid=Count("order", distinct=True, filter=Q(to_status=OrderStatus.PAID)),
                      failed=Count("order", distinct=True, filter=Q(to_status__in=failed))))
    paid, lost = {}, {}
    for row in rows:
        paid[row["day"]], lost[row["day"]] = row["paid"], row["failed"]
    return {"paid": days.per_day(paid), "failed": days.per_day(lost)}


def dashboard_renewals(*, days: DayRange) -> dict[str, list[int]]:
    """Per day, renewal charges that succeeded and charges that were declined (a decline
    moves a charging attempt to "failed, will retry" or, after the last retry, to
    "given up"; an attempt dropped for another reason is not a failed charge)."""
    declined = Q(from_status=AttemptStatus.CHARGING,
                 to_status__in=(AttemptStatus.FAILED, AttemptStatus.GIVEN_UP))
    rows = (_by_day(RenewalAttemptEvent.objects.filter(at__gte=days.start, at__lt=days.end)
                    .filter(Q(to_status=AttemptStatus.SUCCEEDED) | declined), "at", days.zone)
            .values("day")
            .annotate(succeeded=Count("pk", filter=Q(to_status=AttemptStatus.SUCCEEDED)),
                      failed=Count("pk", filter=declined)))
    succeeded, failed = {}, {}
    for row in rows:
        succeeded[row["day"]], failed[row["day"]] = row["succeeded"], row["failed"]
    return {"succeeded": days.per_day(succeeded), "failed": days.per_day(failed)}


def dashboard_data_used(*, days: DayRange) -> list[int]:
    """Bytes used per day over all cards, by the time the usage happened (the ledger's
    usage and overage rows, as ``card_usage_by_day`` counts them for one card)."""
    rows = (_by_day(LedgerEntry.objects.filter(
                kind__in=(LedgerKind.DEBIT_USAGE, LedgerKind.OVERAGE),
                at__gte=days.start, at__lt=days.end), "at", days.zone)
            .values("day").annotate(used=Sum("bytes")))
    return days.per_day({row["day"]: -row["used"] for row in rows})


@dataclass(frozen=True)
class PlanFigures:
    code: str
    name: str
    orders: int
    revenue: dict[str, int]  # currency → minor units


def dashboard_top_plans(*, days: DayRange, limit: int = TOP_PLANS) -> list[PlanFigures]:
    """The plans with the most orders paid in the range (then the plan code), with their
    takings per currency."""
    rows = (Order.objects.filter(paid_at__gte=days.start, paid_at__lt=days.end).order_by()
            .values("plan__code", "currency")
            .annotate(orders=Count("pk"), amount=Sum("total_minor"), name=Max("plan_name")))
    plans: dict[str, dict] = {}
    for row in rows:
        plan = plans.setdefault(row["plan__code"], {"name": row["name"], "orders": 0,
                                                    "revenue": {}})
        plan["orders"] += row["orders"]
        plan["revenue"][row["currency"]] = row["amount"]
    ranked = sorted(plans.items(), key=lambda item: (-item[1]["orders"], item[0]))
    return [PlanFigures(code=code, name=plan["name"], orders=plan["orders"],
                        revenue=dict(sorted(plan["revenue"].items())))
            for code, plan in ranked[:limit]]


def dashboard_cards_now() -> dict[str, int]:
    """How many cards are in each state now (every state listed, zeros included)."""
    counts = dict(Card.objects.order_by().values_list("state").annotate(n=Count("pk")))
    return {state: counts.get(state, 0) for state in CardState.values}


def dashboard_tickets_now() -> dict[str, int]:
    """Support tickets by status now (every status listed, zeros included)."""
    counts = dict(Ticket.objects.order_by().values_list("status").annotate(n=Count("pk")))
    return {status: counts.get(status, 0) for status in TicketStatus.values}
