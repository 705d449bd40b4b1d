"""Operator plan management (scope ``catalog:write``): list, read, create or update, retire.

``PUT /operator/plans/{code}`` brings the plan to exactly the terms, names, prices and
countries sent (``catalog.services.plan_upsert``: all or nothing, safe to repeat);
periods already sold keep the terms they copied. Retiring stops the sale; it never
touches what was sold.
"""

from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import StrictBool, StrictInt

from simdesk.catalog.models import (
    FALLBACK_LANGUAGE,
    Plan,
    PlanKind,
    PlanStatus,
    Region,
    Stacking,
    ValidityStart,
)
from simdesk.catalog.services import plan_archive, plan_restore, plan_upsert
from simdesk.core.errors import ServiceError

from ..errors import problem_responses
from ..pagination import CursorParams, Page, paginate
from .auth import operator_auth
from .selectors import plan_get_for_operator, plans_for_operator

router = Router(tags=["operator"])

SCOPE = "catalog:write"
# Limits of the database columns, so an out-of-range number is a 400, not a crash.
BIG = 2**63 - 1
INT = 2**31 - 1

class TranslationIO(Schema):
    language: str = Field(max_length=10, description="One of simdesk's languages: en, "
                                                     "zh-hans.")
    name: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=5000)


class PriceIO(Schema):
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217, e.g. USD.")
    amount_minor: StrictInt = Field(ge=1, le=BIG, description="Integer minor units (499 = 4.99).")


class PlanIn(Schema):
    kind: PlanKind = PlanKind.BASE
    data_bytes: StrictInt | None = Field(None, ge=1, le=BIG,
                                   description="Null for an unlimited plan.")
    fair_use_bytes: StrictInt | None = Field(None, ge=1, le=BIG,
                                       description="Unlimited plans only.")
    throttle_kbps: StrictInt | None = Field(None, ge=1, le=INT, description="Unlimited plans only.")
    validity_days: StrictInt = Field(ge=1, le=3650)
    validity_start: ValidityStart = ValidityStart.ON_PURCHASE
    stacking: Stacking = Stacking.QUEUE
    renewable: StrictBool = True
    pausable: StrictBool = False
    max_pause_days: StrictInt = Field(0, ge=0, le=3650)
    region: str | None = Field(None, max_length=64, description="A region's code.")
    countries: list[str] = Field(default_factory=list, max_length=300,
                                 description="ISO codes the plan covers beyond its region.")
    sort_order: StrictInt = Field(0, ge=0, le=INT)
    translations: list[TranslationIO] = Field(
        min_length=1, max_length=20, description="One per language; English is required.")
    prices: list[PriceIO] = Field(min_length=1, max_length=50,
                                  description="One per currency.")


class OperatorPlanOut(Schema):
    id: UUID
    code: str
    status: str
    archived_at: datetime | None
    kind: str
    data_bytes: int | None
    fair_use_bytes: int | None
    throttle_kbps: int | None
    validity_days: int
    validity_start: str
    stacking: str
    renewable: bool
    pausable: bool
    max_pause_days: int
    region: str | None
    countries: list[str]
    sort_order: int
    translations: list[TranslationIO]
    prices: list[PriceIO]
    created_at: datetime
    updated_at: datetime


class OperatorPlanFilters(Schema):
    status: PlanStatus | None = Field(None, description="Only active or only archived plans.")


def operator_plan_out(plan: Plan) -> dict:
    return {
        "id": plan.public_id, "code": plan.code, "status": plan.status,
        "archived_at": plan.archived_at, "kind": plan.kind, "data_bytes": plan.data_bytes,
        "fair_use_bytes": plan.fair_use_bytes, "throttle_kbps": plan.throttle_kbps,
        "validity_days": plan.validity_days, "validity_start": plan.validity_start,
        "stacking": plan.stacking, "renewable": plan.renewable, "pausable": plan.pausable,
        "max_pause_days": plan.max_pause_days,
        "region": plan.region.code if plan.region_id else None,
        "countries": sorted(plan.own_country_codes()), "sort_order": plan.sort_order,
        "translations": [{"language": t.language, "name": t.name, "description": t.description}
                         for t in sorted(plan.translations.all(), key=lambda t: t.language)],
        "prices": [{"currency": p.currency, "amount_minor": p.amount_minor}
                   for p in sorted(plan.prices.all(), key=lambda p: p.currency)],
        "created_at": plan.created_at, "updated_at": plan.updated_at,
    }


def _refuse(field: str, message) -> None:
    error = ServiceError(message, code="invalid_request")
    error.errors = [{"field": field, "message": str(message)}]
    raise error


def _unique(items, key: str, field: str) -> dict:
    seen: dict = {}
    for item in items:
        value = getattr(item, key)
        if value in seen:
            _refuse(field, _("“%(value)s” is given twice.") % {"value": value})
        seen[value] = item
    return seen


@router.get("/operator/plans", auth=operator_auth(SCOPE), response=Page[OperatorPlanOut],
            summary="Every plan, archived ones included, by code",
            description="Needs scope `catalog:write`.")
def list_plans(request: HttpRequest, filters: Query[OperatorPlanFilters],
               page: Query[CursorParams]):
    result = paginate(plans_for_operator(status=filters.status), params=page, key="code",
                      descending=False, tiebreak="code")
    return {"items": [operator_plan_out(plan) for plan in result["items"]],
            "next_cursor": result["next_cursor"]}


@router.get("/operator/plans/{code}", auth=operator_auth(SCOPE), response=OperatorPlanOut,
            summary="One plan, archived or not", description="Needs scope `catalog:write`.")
def get_plan(request: HttpRequest, code: str):
    return operator_plan_out(plan_get_for_operator(code=code))


@router.put("/operator/plans/{code}", auth=operator_auth(SCOPE),
            response={200: OperatorPlanOut, 201: OperatorPlanOut, **problem_responses(409)},
            summary="Create a plan, or bring it to exactly these terms",
            description="201 when the plan was created, 200 when it existed. Names, prices "
                        "and countries not sent are removed. Customers who bought the plan "
                        "keep the terms they bought. Needs scope `catalog:write`.")
def put_plan(request: HttpRequest, code: str, payload: PlanIn):
    languages = {language for language, _name in settings.LANGUAGES}
    translations = _unique(payload.translations, "language", "translations")
    for language in translations:
        if language not in languages:
            _refuse("translations", _("“%(value)s” is not a language simdesk offers: use one "
                                      "of %(choices)s.")
                    % {"value": language, "choices": ", ".join(sorted(languages))})
    if FALLBACK_LANGUAGE not in translations:
        _refuse("translations", _("A plan needs a name in English (language “en”)."))
    prices = _unique(payload.prices, "currency", "prices")
    region = None
    if payload.region:
        region = Region.objects.filter(code=payload.region).first()
        if region is None:
            _refuse("region", _("There is no region “%(code)s”.") % {"code": payload.region})
    existed = Plan.objects.filter(code=code).exists()
    terms = payload.model_dump(include={"kind", "data_bytes", "fair_use_bytes", "throttle_kbps",
                                  "validity_days", "validity_start", "stacking", "renewable",
                                  "pausable", "max_pause_days", "sort_order"})
    plan = plan_upsert(
        code=code, terms={**terms, "region": region},
        translations={lang: (t.name, t.description) for lang, t in translations.items()},
        prices={currency.upper(): p.amount_minor for currency, p in prices.items()},
        countries=payload.countries, now=timezone.now())
    plan = plan_get_for_operator(code=plan.code)
    return Status(200 if existed else 201, operator_plan_out(plan))


@router.post("/operator/plans/{code}/retire", auth=operator_auth(SCOPE),
             response=OperatorPlanOut, summary="Stop selling a plan",
             description="It leaves the plan list and cannot be ordered; what was sold "
                         "is untouched. Safe to repeat. Needs scope `catalog:write`.")
def retire_plan(request: HttpRequest, code: str):
    plan = plan_archive(plan=plan_get_for_operator(code=code), now=timezone.now())
    return operator_plan_out(plan_get_for_operator(code=plan.code))


@router.post("/operator/plans/{code}/restore", auth=operator_auth(SCOPE),
             response=OperatorPlanOut, summary="Sell a retired plan again",
             description="Safe to repeat. Needs scope `catalog:write`.")
def restore_plan(request: HttpRequest, code: str):
    plan = plan_restore(plan=plan_get_for_operator(code=code), now=timezone.now())
    return operator_plan_out(plan_get_for_operator(code=plan.code))
