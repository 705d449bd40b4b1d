"""The plans on sale: list with filters, and one plan. Public: no sign-in needed."""

import uuid

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Schema

from simdesk.catalog.models import Plan, PlanKind
from simdesk.catalog.selectors import plan_get_active, plans_list
from simdesk.core.errors import ServiceError

from ..errors import problem_responses
from ..pagination import CursorParams, Page, paginate
from . import router

TAGS = ["plans"]


class PriceOut(Schema):
    amount_minor: int = Field(description="Integer minor units of `currency` (499 = 4.99 USD).")
    currency: str


class PlanOut(Schema):
    id: uuid.UUID
    code: str
    name: str
    kind: str
    data_bytes: int | None = Field(description="Null for an unlimited plan.")
    unlimited: bool
    fair_use_bytes: int | None
    throttle_kbps: int | None
    validity_days: int
    validity_start: str
    stacking: str
    renewable: bool
    region: str | None = Field(description="Region code, if the plan covers a region.")
    countries: list[str] = Field(description="ISO codes of every country it works in.")
    price: PriceOut | None = Field(description="In the requested currency.")


class PlanDetailOut(PlanOut):
    description: str
    prices: list[PriceOut]


class PlanFilters(Schema):
    currency: str | None = Field(None, description="Price currency; default: yours or the "
                                                   "site's.")
    country: str | None = Field(None, min_length=2, max_length=2,
                                description="ISO country code the plan must work in.")
    region: str | None = Field(None, max_length=64, description="Region code.")
    kind: PlanKind | None = None
    min_data_bytes: int | None = Field(None, ge=0)
    max_days: int | None = Field(None, ge=1)
    max_price_minor: int | None = Field(None, ge=0)


def _currency(request, wanted: str | None) -> str:
    if wanted:
        currency = wanted.upper()
        if currency not in settings.CURRENCIES:
            error = ServiceError(
                _("We do not sell in “%(value)s”. Use one of: %(choices)s.")
                % {"value": wanted, "choices": ", ".join(settings.CURRENCIES)},
                code="unsupported_currency")
            error.errors = [{"field": "currency", "message": str(error.message)}]
            raise error
        return currency
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.currency in settings.CURRENCIES:
        return user.currency
    return settings.DEFAULT_CURRENCY


def _plan_out(plan: Plan, currency: str) -> dict:
    language = get_language()
    price = plan.price_in(currency)
    return {
        "id": plan.public_id, "code": plan.code, "name": plan.name_for(language),
        "kind": plan.kind, "data_bytes": plan.data_bytes, "unlimited": plan.is_unlimited,
        "fair_use_bytes": plan.fair_use_bytes, "throttle_kbps": plan.throttle_kbps,
        "validity_days": plan.validity_days, "validity_start": plan.validity_start,
        "stacking": plan.stacking, "renewable": plan.renewable,
        "region": plan.region.code if plan.region else None, "countries": plan.coverage(),
        "price": None if price is None else {"amount_minor": price.amount_minor,
                                             "currency": price.currency},
    }


@router.get("/plans", response={200: Page[PlanOut], **problem_responses(400)}, auth=None, tags=TAGS,
            summary="Plans on sale, by code")
def plans_index(request, filters: Query[PlanFilters], page: Query[CursorParams]):
    currency = _currency(request, filters.currency)
    plans = plans_list(currency=currency, country=filters.country, region=filters.region,
                       kind=filters.kind, min_data_bytes=filters.min_data_bytes,
                       max_days=filters.max_days, max_price_minor=filters.max_price_minor)
    # Codes are unique, so they alone give a stable order for the cursor.
    result = paginate(plans, params=page, key="code", descending=False, tiebreak="code")
    return {"items": [_plan_out(plan, currency) for plan in result["items"]],
            "next_cursor": result["next_cursor"]}


@router.get("/plans/{code}", response={200: PlanDetailOut, **problem_responses(400, 404)},
            auth=None, tags=TAGS,
            summary="One plan on sale")
def plans_detail(request, code: str, currency: str | None = None):
    plan = plan_get_active(code=code)
    return {**_plan_out(plan, _currency(request, currency)),
            "description": plan.description_for(get_language()),
            "prices": [{"amount_minor": p.amount_minor, "currency": p.currency}
                       for p in plan.prices.all()]}
