"""Reads for the usage side: which cards may owe their customer an alert."""

from datetime import datetime, timedelta

from django.db.models import (
    BigIntegerField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from simdesk.cards.models import Card, CardState, Period, PeriodState
from simdesk.notifications.models import (
    DEFAULT_EXPIRY_DAYS,
    DEFAULT_USAGE_THRESHOLDS,
    NotificationPreferences,
)

from .models import AlertKind, AlertSent

# A period used up moves to "exhausted" (possibly before any alert check ran): it
# still gets its 100 % alert for this long after it closed.
EXHAUSTED_GRACE = timedelta(days=1)


def _owner_setting(name: str, default: int):
    prefs = NotificationPreferences.objects.filter(user=OuterRef("card__owner_id"))
    return Coalesce(Subquery(prefs.values(name)[:1]), Value(default),
                    output_field=IntegerField())


def periods_for_alerts(*, now: datetime) -> QuerySet[Period]:
    """Periods that are current at ``now``: active, or used up within the last day."""
    return Period.objects.filter(
        Q(state=PeriodState.ACTIVE)
        | Q(state=PeriodState.EXHAUSTED, closed_at__gte=now - EXHAUSTED_GRACE),
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
    )


def cards_due_for_alerts(*, now: datetime) -> QuerySet[Card]:
    """Cards with a current period that crossed one of its owner's thresholds and has
    not had the last of them yet. Owners with alerts off are left out.

    One query whatever the number of cards: each owner's lowest/highest percent and
    furthest/nearest day count are read from copies kept on their preferences (the
    defaults when they have none). The exact check, threshold by threshold, is
    ``alerts_check_card``; this only has to include every card that check would act on.
    """
    periods = periods_for_alerts(now=now).annotate(
        usage_floor=_owner_setting("usage_floor", min(DEFAULT_USAGE_THRESHOLDS)),
        usage_top=_owner_setting("usage_top", max(DEFAULT_USAGE_THRESHOLDS)),
        expiry_horizon=_owner_setting("expiry_horizon", max(DEFAULT_EXPIRY_DAYS)),
        expiry_last=_owner_setting("expiry_last", min(DEFAULT_EXPIRY_DAYS)),
        usage_done=Exists(AlertSent.objects.filter(period=OuterRef("pk"), kind=AlertKind.USAGE,
                                                   threshold=OuterRef("usage_top"))),
        expiry_done=Exists(AlertSent.objects.filter(period=OuterRef("pk"),
                                                    kind=AlertKind.EXPIRY,
                                                    threshold=OuterRef("expiry_last"))),
    )
    # used·100 ≥ floor·total, in integers: percent used reached the lowest threshold.
    periods = periods.annotate(
        used_x100=ExpressionWrapper((F("total_bytes") - F("remaining_bytes")) * 100,
                                    output_field=BigIntegerField()),
        floor_x_total=ExpressionWrapper(F("total_bytes") * F("usage_floor"),
                                        output_field=BigIntegerField()),
    )
    crossed_usage = Q(unlimited=False, usage_done=False, total_bytes__gt=0,
                      used_x100__gte=F("floor_x_total"))
    # Owners choose at most 30 days ahead, so there are few distinct horizons: one
    # range test per horizon keeps the query free of date arithmetic in SQL.
    horizons = set(NotificationPreferences.objects.filter(alerts=True)
                   .values_list("expiry_horizon", flat=True).distinct())
    horizons.add(max(DEFAULT_EXPIRY_DAYS))
    near_end = Q()
    for days in sorted(horizons - {0}):
        near_end |= Q(expiry_horizon=days, ends_at__lte=now + timedelta(days=days))
    ending = Q(state=PeriodState.ACTIVE, expiry_done=False, ends_at__gt=now) & near_end
    due = periods.filter(crossed_usage | ending).values("card_id")
    alerts_off = NotificationPreferences.objects.filter(alerts=False).values("user_id")
    return (Card.objects.filter(pk__in=due, owner__isnull=False)
            .exclude(owner_id__in=alerts_off)
            .exclude(state=CardState.TERMINATED)
            .order_by("pk"))


CARD_IDENTIFIERS = ("iccid", "imsi", "msisdn")


def card_identifier_normalize(kind: str, value: str) -> str:
    """An identifier as stored: ICCID without spaces and hyphens, MSISDN also without a
    leading +, as ``card_lookup`` reads them."""
    from simdesk.cards.iccid import iccid_normalize

    value = (value or "").strip()
    if kind == "iccid":
        return iccid_normalize(value)
    if kind == "msisdn":
        return value.removeprefix("+").replace(" ", "").replace("-", "")
    return value


def card_ids_by_identifier(identifiers: dict[str, set[str]]) -> dict[tuple[str, str], int]:
    """Card ids for many (kind, normalised value) pairs at once, kind one of
    ``CARD_IDENTIFIERS``: one query per kind and 5,000 values. Unknown ones are absent."""
    found: dict[tuple[str, str], int] = {}
    for kind in CARD_IDENTIFIERS:
        # A value with a NUL character names no card (and PostgreSQL cannot compare it).
        values = sorted(v for v in identifiers.get(kind, ()) if v and "\x00" not in v)
        for start in range(0, len(values), 5000):
            part = values[start:start + 5000]
            for value, pk in Card.objects.filter(**{f"{kind}__in": part}).values_list(kind, "pk"):
                found[(kind, value)] = pk
    return found
