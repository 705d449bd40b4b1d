"""Refunds of a period and plan changes over the API, with the services the portal calls.

Ownership comes from ``period_get_for_customer`` / ``card_get_for_customer`` (another
customer's card or period is 404); refusals are problems with a stable ``code``.
"""

from datetime import datetime
from typing import Literal
from uuid import UUID

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from ninja import Field, Header, Schema
from ninja.responses import Status

from simdesk.cards.models import PeriodState
from simdesk.cards.selectors import card_get_for_customer
from simdesk.catalog.models import Plan
from simdesk.core.clock import utcnow
from simdesk.core.errors import NotFound, ServiceError
from simdesk.orders.models import RefundRequest
from simdesk.orders.refunds import period_refund_quote
from simdesk.orders.selectors import order_get_for_customer, period_get_for_customer
from simdesk.orders.services import plan_change_order_create, refund_request_create
from simdesk.renewals.services.plan_change import renewal_plan_change

from ..auth import customer_auth
from ..errors import problem_responses
from . import router
from .orders import OrderOut, _idempotency_key, order_out

TAGS = ["refunds"]


class RefundRequestOut(Schema):
    id: UUID
    status: str = Field(description="pending, approved, rejected or refunded.")
    cause: str = Field(description="customer (asked for) or plan_change.")
    automatic: bool = Field(description="Refunded at once: unused and within the window.")
    currency: str
    paid_minor: int
    suggested_minor: int = Field(description="Pro rata when asked: the smaller of the "
                                             "unused share of days and of data.")
    amount_minor: int | None = Field(description="What was refunded.")
    decision_note: str
    created_at: datetime
    decided_at: datetime | None
    refunded_at: datetime | None


def refund_request_out(rr: RefundRequest) -> dict:
    return {"id": rr.public_id, "status": rr.status, "cause": rr.cause,
            "automatic": rr.automatic, "currency": rr.currency, "paid_minor": int(rr.paid_minor),
            "suggested_minor": int(rr.suggested_minor),
            "amount_minor": None if rr.amount_minor is None else int(rr.amount_minor),
            "decision_note": rr.decision_note, "created_at": rr.created_at,
            "decided_at": rr.decided_at, "refunded_at": rr.refunded_at}


class RefundQuoteOut(Schema):
    period: UUID
    refundable: bool = Field(description="Whether a refund can be asked for now.")
    refusal_code: str = Field(description="Why not (stable code); empty when refundable.")
    refusal: str = Field(description="Why not, in the caller's language.")
    automatic: bool = Field(description="Refunded in full at once if asked for now.")
    amount_minor: int | None = Field(description="Refunded at once (automatic), or suggested "
                                                 "to staff.")
    paid_minor: int | None
    currency: str | None
    days_left_percent: int | None
    data_left_percent: int | None = Field(description="Null for unlimited data.")
    request: RefundRequestOut | None = Field(description="The request already made, if any.")


class RefundIn(Schema):
    reason: str = Field("", max_length=1000)


def _period(request, card_id: str, period_id: str):
    return period_get_for_customer(customer=request.auth, card_public_id=card_id,
                                   period_public_id=period_id)


@router.get("/cards/{card_id}/periods/{period_id}/refund", auth=customer_auth, tags=TAGS,
            response={200: RefundQuoteOut, **problem_responses(401, 404, 429)},
            summary="What a refund of a period would give back")
def get_period_refund(request, card_id: str, period_id: str):
    period = _period(request, card_id, period_id)
    existing = RefundRequest.objects.filter(period=period).first()
    out = {"period": period.public_id, "refundable": False, "refusal_code": "",
           "refusal": "", "automatic": False, "amount_minor": None, "paid_minor": None,
           "currency": None, "days_left_percent": None, "data_left_percent": None,
           "request": refund_request_out(existing) if existing else None}
    if existing is not None:
        out.update(refusal_code="refund_requested",
                   refusal=str(_("A refund of this plan was already asked for.")))
        return out
    try:
        quote = period_refund_quote(period=period, now=utcnow())
    except ServiceError as error:
        out.update(refusal_code=error.code, refusal=str(error.message))
        return out
    out.update(refundable=True, automatic=quote.automatic, amount_minor=quote.amount_minor,
               paid_minor=quote.paid_minor, currency=quote.currency,
               days_left_percent=quote.days_percent, data_left_percent=quote.data_percent)
    return out


@router.post("/cards/{card_id}/periods/{period_id}/refund", auth=customer_auth, tags=TAGS,
             response={200: RefundRequestOut, 201: RefundRequestOut,
                       **problem_responses(400, 401, 404, 409, 429)},
             summary="Ask for a refund of a period",
             description="Unused and bought within the refund window: refunded in full at "
                         "once (`status` refunded). Otherwise a pending request for staff "
                         "with the pro-rata amount suggested. Asking again returns the same "
                         "request (200) and never refunds twice.")
def post_period_refund(request, card_id: str, period_id: str, payload: RefundIn):
    period = _period(request, card_id, period_id)
    existed = RefundRequest.objects.filter(period=period).exists()
    rr = refund_request_create(customer=request.auth, period=period, reason=payload.reason,
                               now=utcnow())
    return Status(200 if existed else 201, refund_request_out(rr))


class PlanChangeIn(Schema):
    plan: str = Field(min_length=1, max_length=64, description="The new plan's code.")
    when: Literal["now", "at_period_end"]
    currency: str = Field(min_length=3, max_length=3)


class PlanChangeOut(Schema):
    when: str
    plan: str
    order: OrderOut | None = Field(description="For `now`: the order to pay (POST "
                                               "/orders/{id}/pay); the new plan starts when "
                                               "it is paid.")
    refund_minor: int | None = Field(description="For `now`: refunded for the current plan "
                                                 "once the order is paid.")
    refund_currency: str | None
    renewal_enabled: bool | None = Field(description="For `at_period_end`: whether "
                                                     "auto-renewal is on to buy it.")


@router.post("/cards/{card_id}/plan-change", auth=customer_auth, tags=TAGS,
             response={200: PlanChangeOut, **problem_responses(400, 401, 404, 409, 429)},
             summary="Change a card's plan now or at the end of the period",
             description="`now` (needs an `Idempotency-Key` header) opens an order for the "
                         "new plan that replaces the plan in use and carries the refund of "
                         "its unused part; `at_period_end` changes what auto-renewal buys "
                         "next.")
def post_plan_change(request, card_id: str, payload: PlanChangeIn,
                     idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    customer = request.auth
    card = card_get_for_customer(customer=customer, card_public_id=card_id)
    plan = Plan.objects.with_display_data().filter(code=payload.plan).first()
    if plan is None:
        raise NotFound(_("There is no plan “%(code)s” on sale.") % {"code": payload.plan},
                       code="plan_not_found")
    now = utcnow()
    if payload.when == "at_period_end":
        rs = renewal_plan_change(card=card, customer=customer, plan=plan,
                                 currency=payload.currency, now=now)
        return {"when": payload.when, "plan": plan.code, "order": None, "refund_minor": None,
                "refund_currency": None, "renewal_enabled": rs.enabled}
    key = _idempotency_key(idempotency_key)
    current = (card.periods.filter(state=PeriodState.ACTIVE).order_by("ends_at", "id")
               .first())
    if current is None:
        raise ServiceError(_("This card has no plan in use to change now. Buy a plan "
                             "instead."), code="no_current_period")
    order = plan_change_order_create(customer=customer, period=current, plan=plan,
                                     currency=payload.currency, idempotency_key=key, now=now,
                                     language=get_language() or "")
    order = order_get_for_customer(customer=customer, order_public_id=order.public_id)
    refund = order.plan_change_refund
    return {"when": payload.when, "plan": plan.code, "order": order_out(order),
            "refund_minor": refund.amount_minor if refund else 0,
            "refund_currency": refund.currency if refund else None, "renewal_enabled": None}
