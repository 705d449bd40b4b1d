"""Reads of the catalog that encode a rule: what is on sale, where, and on what terms."""

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from simdesk.core.errors import NotFound
from simdesk.core.units import format_bytes, format_kbps

from .models import (
    Plan,
    PlanCountry,
    PlanKind,
    PlanPrice,
    PlanStatus,
    Region,
    Stacking,
    ValidityStart,
)


def _regions_covering(countries: set[str]) -> list[int]:
    """Ids of regions that include every one of ``countries``.

    Regions are few (tens), so reading them is cheaper and more portable than
    asking each database to search inside a JSON list.
    """
    return [
        region.id
        for region in Region.objects.only("id", "countries")
        if countries <= set(region.countries)
    ]


def plans_list(
    *,
    currency: str,
    country: str | None = None,
    region: str | None = None,
    min_data_bytes: int | None = None,
    max_days: int | None = None,
    max_price_minor: int | None = None,
    kind: str | None = None,
) -> QuerySet[Plan]:
    """Plans on sale in ``currency``, filtered, with what a plan card shows prefetched.

    - A plan is on sale when it is active and has a price in ``currency``;
      each plan carries that price as ``price_minor``.
    - ``country`` (ISO code): plans that work there, through their region or
      their own countries.
    - ``region`` (region code): plans that work in every country of that region
      (so a global plan shows up under Europe too). An unknown code matches nothing.
    - ``min_data_bytes``: unlimited plans always qualify.
    - Order: base plans before top-ups, then the staff's sort order, then the
      cheapest first.

    Evaluating it costs a fixed number of queries, whatever the number of plans.
    """
    currency = currency.upper()
    price = PlanPrice.objects.filter(plan=OuterRef("pk"), currency=currency)
    plans = (
        Plan.objects.filter(status=PlanStatus.ACTIVE)
        .annotate(price_minor=Subquery(price.values("amount_minor")[:1]))
        .filter(price_minor__isnull=False)
    )
    if country:
        country = country.upper()
        plans = plans.filter(
            Q(region_id__in=_regions_covering({country}))
            | Q(Exists(PlanCountry.objects.filter(plan=OuterRef("pk"), country=country)))
        )
    if region:
        wanted = Region.objects.filter(code=region).values_list("countries", flat=True).first()
        if not wanted:
            return plans.none()
        plans = plans.filter(region_id__in=_regions_covering(set(wanted)))
    if min_data_bytes is not None:
        plans = plans.filter(Q(data_bytes__isnull=True) | Q(data_bytes__gte=min_data_bytes))
    if max_days is not None:
        plans = plans.filter(validity_days__lte=max_days)
    if max_price_minor is not None:
        plans = plans.filter(price_minor__lte=max_price_minor)
    if kind:
        plans = plans.filter(kind=kind)
    return plans.with_display_data().order_by("kind", "sort_order", "price_minor", "code")


def plan_get_active(*, code: str) -> Plan:
    """The plan on sale under ``code``; an archived or unknown plan is NotFound."""
    plan = Plan.objects.active().with_display_data().filter(code=code).first()
    if plan is None:
        raise NotFound(_("There is no plan “%(code)s” on sale.") % {"code": code},
                       code="plan_not_found")
    return plan


def covered_countries() -> set[str]:
    """Every country at least one active plan works in (for the country filter)."""
    active = Plan.objects.filter(status=PlanStatus.ACTIVE)
    codes = set(
        PlanCountry.objects.filter(plan__in=active).values_list("country", flat=True).distinct()
    )
    for countries in Region.objects.filter(plans__in=active).distinct().values_list(
        "countries", flat=True
    ):
        codes.update(countries)
    return codes


def regions_with_plans() -> QuerySet[Region]:
    """Regions that at least one active plan is sold for, with their names prefetched."""
    return (
        Region.objects.filter(plans__status=PlanStatus.ACTIVE)
        .distinct()
        .prefetch_related("translations")
        .order_by("code")
    )


def plan_terms(*, plan: Plan, language: str) -> list[str]:
    """The plan's terms in plain words, in ``language``: what you get and what happens when.

    One sentence per rule: data (and fair use), validity and when it starts,
    how it stacks with what the card already has, renewal, pausing.
    """
    with translation.override(language):
        days = plan.validity_days
        terms: list[str] = []

        if plan.is_unlimited:
            terms.append(_("Unlimited data."))
            terms.append(_("Fair use: full speed up to %(cap)s, then %(speed)s.") % {
                "cap": format_bytes(plan.fair_use_bytes, language),
                "speed": format_kbps(plan.throttle_kbps, language),
            })
        else:
            terms.append(_("%(data)s of data at full speed.") % {
                "data": format_bytes(plan.data_bytes, language)
            })

        if plan.validity_start == ValidityStart.ON_FIRST_USE:
            terms.append(ngettext(
                "Valid for %(days)d day, counted from the first time the card connects to a "
                "network.",
                "Valid for %(days)d days, counted from the first time the card connects to a "
                "network.",
                days,
            ) % {"days": days})
        else:
            terms.append(ngettext(
                "Valid for %(days)d day, counted from the moment you buy it.",
                "Valid for %(days)d days, counted from the moment you buy it.",
                days,
            ) % {"days": days})

        if plan.kind == PlanKind.TOPUP:
            terms.append(_("A top-up: it adds data to a card that already has a plan."))

        if plan.stacking == Stacking.QUEUE:
            terms.append(_("If your card still has a plan running, this one waits and starts "
                           "when the current one is used up or ends."))
        elif plan.stacking == Stacking.EXTEND:
            terms.append(ngettext(
                "If your card has a plan running, this adds its data to it and moves its end "
                "%(days)d day later (from today, if that is later).",
                "If your card has a plan running, this adds its data to it and moves its end "
                "%(days)d days later (from today, if that is later).",
                days,
            ) % {"days": days})
        else:
            terms.append(_("It runs alongside any plan already on your card; data is used "
                           "from the plan that ends first."))

        if plan.renewable:
            terms.append(_("It can renew automatically, if you switch auto-renewal on."))
        else:
            terms.append(_("It does not renew automatically; buy it again when you need it."))

        if plan.pausable:
            terms.append(ngettext(
                "You can pause it for up to %(days)d day; the paused time is added to its end.",
                "You can pause it for up to %(days)d days; the paused time is added to its end.",
                plan.max_pause_days,
            ) % {"days": plan.max_pause_days})
        else:
            terms.append(_("It cannot be paused."))
        return terms
