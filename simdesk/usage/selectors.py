"""Reads for the usage side: which cards may owe their customer an alert."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from simdesk.cards.models import Card, CardState, Period, PeriodState
from simdesk.notifications.models import (
    DEFAULT_EXPIRY_DAYS,
    DEFAULT_USAGE_THRESHOLDS,
    NotificationPreferences,
)

from .models import (
    USAGE_PREFIX,
    AlertKind,
    AlertSent,
    RatingCursor,
    RatingRun,
    Record,
    rating_reference_parts,
)

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


# --- what a card's usage ledger rows stand for ----------------------------------------------

# Counting a run's records of one card reads the run's whole id range (records have no
# index by card): a card page counts for its runs, smallest first, up to this many ids.
RUN_RECORDS_BUDGET = 300_000


@dataclass(frozen=True)
class UsageReference:
    """What the reference of a usage ledger row names: a rating run (``rating:<run>:<card>``
    or ``rating:<run>:<card>:<n>``), with the number of the card's records in it when it
    was counted, or one record (``usage:<source>:<record id>``)."""

    run_id: int | None = None
    records: int | None = None
    source: str = ""
    record_id: str = ""


def usage_rated_through() -> int:
    """The id of the last usage record applied (every record up to it is; 0: none)."""
    return RatingCursor.objects.filter(pk=1).values_list("through", flat=True).first() or 0


def usage_references_explained(*, card_id: int,
                               references: Iterable[str]) -> dict[str, UsageReference]:
    """For each usage reference among ``references`` (the rows of ``card_id``'s ledger on
    a page), what it names; other references are absent. At most two queries however
    many rows: the runs, and one count of the card's records per run (within
    ``RUN_RECORDS_BUDGET``; runs past it have ``records`` None).

    A source name holds no colon (``usage_source_clean``), so ``usage:a:b:c`` is record
    ``b:c`` of source ``a``."""
    references = set(references)
    runs = {ref: parts[0] for ref in references
            if (parts := rating_reference_parts(ref)) is not None}
    explained = {ref: UsageReference(run_id=run, records=count)
                 for ref, run, count in _with_counts(card_id, runs)}
    for ref in references:
        source, colon, record_id = ref.removeprefix(USAGE_PREFIX).partition(":")
        if ref.startswith(USAGE_PREFIX) and colon and source and record_id:
            explained[ref] = UsageReference(source=source, record_id=record_id)
    return explained


def _with_counts(card_id: int, runs: dict[str, int]) -> Iterator[tuple[str, int, int | None]]:
    """(reference, run id, records of the card in the run or None) for each reference."""
    if not runs:
        return
    spans = sorted(RatingRun.objects.filter(pk__in=set(runs.values()))
                   .values_list("pk", "after", "through"),
                   key=lambda span: (span[2] - span[1], span[0]))
    counted, ids = [], 0
    for run_id, after, through in spans:
        ids += through - after
        if ids > RUN_RECORDS_BUDGET:
            break
        counted.append((run_id, after, through))
    counts: dict[int, int] = {}
    if counted:
        which = Case(*(When(pk__gt=after, pk__lte=through, then=Value(run_id))
                       for run_id, after, through in counted), output_field=IntegerField())
        ranges = Q()
        for _run_id, after, through in counted:
            ranges |= Q(pk__gt=after, pk__lte=through)
        counts = {run_id: 0 for run_id, _after, _through in counted}
        counts.update(Record.objects.filter(ranges, card_id=card_id).order_by()
                      .annotate(run=which).values("run").annotate(n=Count("pk"))
                      .values_list("run", "n"))
    for reference, run_id in runs.items():
        yield reference, run_id, counts.get(run_id)
