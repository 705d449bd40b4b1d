"""Customer orders over the API: buy a plan (idempotently), pay, follow, and get the receipt.

Every operation calls the same services as the portal's checkout; ownership is decided
by ``order_get_for_customer`` / ``card_get_for_customer`` (another customer's order or
card is 404, never 403, so ids cannot be probed).
"""

from datetime import datetime
from uuid import UUID

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from ninja import Field, Header, Query, Router, Schema
from ninja.responses import Status
from pydantic import StrictBool

from simdesk.api.auth import customer_auth
from simdesk.api.errors import problem_responses
from simdesk.api.pagination import CursorParams, Page, paginate
from simdesk.cards.selectors import card_get_for_customer
from simdesk.catalog.models import Plan
from simdesk.core.errors import NotFound, ServiceError
from simdesk.orders.models import Order, OrderStatus
from simdesk.orders.selectors import order_get_for_customer, orders_for_customer
from simdesk.orders.services import order_create, order_pay

router = Router(tags=["orders"])


class MoneyOut(Schema):
    amount_minor: int = Field(description="Integer minor units (cents) of `currency`.")
    currency: str


class PeriodOut(Schema):
    id: UUID
    state: str
    starts_at: datetime | None
    ends_at: datetime | None
    total_bytes: int | None
    remaining_bytes: int | None


class OrderPlanOut(Schema):
    code: str
    name: str


class OrderOut(Schema):
    id: UUID
    status: str
    status_label: str
    plan: OrderPlanOut
    card: UUID | None = Field(description="The card's id; null for a new eSIM not yet "
                                          "assigned.")
    new_esim: bool
    currency: str
    subtotal_minor: int
    discount_minor: int
    total_minor: int
    coupon_code: str
    created_at: datetime
    expires_at: datetime = Field(description="Pay before this time.")
    paid_at: datetime | None
    fulfilled_at: datetime | None
    failure_message: str
    period: PeriodOut | None


def order_out(order: Order, language: str | None = None) -> dict:
    """The API view of an order (the plan's name in the caller's language)."""
    language = language or get_language()
    period = order.period
    return {
        "id": order.public_id,
        "status": order.status,
        "status_label": str(order.get_status_display()),
        "plan": {"code": order.plan.code,
                 "name": order.plan.name_for(language) or order.plan_name},
        "card": order.card.public_id if order.card_id else None,
        "new_esim": order.new_esim,
        "currency": order.currency,
        "subtotal_minor": int(order.subtotal_minor),
        "discount_minor": int(order.discount_minor),
        "total_minor": int(order.total_minor),
        "coupon_code": order.coupon_code,
        "created_at": order.created_at,
        "expires_at": order.expires_at,
        "paid_at": order.paid_at,
        "fulfilled_at": order.fulfilled_at,
        "failure_message": order.failure_message,
        "period": None if period is None else {
            "id": period.public_id, "state": period.state, "starts_at": period.starts_at,
            "ends_at": period.ends_at,
            "total_bytes": None if period.unlimited else period.total_bytes,
            "remaining_bytes": None if period.unlimited else period.remaining_bytes,
        },
    }


class OrderIn(Schema):
    plan: str = Field(description="The plan's code.", min_length=1, max_length=64)
    card: UUID | None = Field(None, description="One of your cards; omit with `new_esim`.")
    new_esim: StrictBool = Field(False,
                                 description="Buy a new eSIM instead of topping up a card.")
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217, e.g. USD.")
    coupon_code: str = Field("", max_length=64)


def _idempotency_key(value: str | None) -> str:
    key = (value or "").strip()
    if not key:
        raise ServiceError(_("Send an Idempotency-Key header (e.g. a UUID) so a retried "
                             "request cannot buy twice."), code="idempotency_key_missing")
    if len(key) > 100:
        raise ServiceError(_("The Idempotency-Key header is at most 100 characters."),
                           code="idempotency_key_too_long")
    return key


@router.post("/orders", auth=customer_auth,
             response={200: OrderOut, 201: OrderOut, **problem_responses(404, 409)},
             summary="Create an order",
             description="Requires an `Idempotency-Key` header. Repeating the request with "
                         "the same key and body returns the original order (200); the same "
                         "key with another body is 409 `idempotency_key_reused`.")
def create_order(request: HttpRequest, payload: OrderIn,
                 idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    customer = request.auth
    key = _idempotency_key(idempotency_key)
    # An archived plan is still found: a retry of an order made before it was archived
    # must get that order back; order_create refuses a new order for it.
    plan = Plan.objects.with_display_data().filter(code=payload.plan).first()
    if plan is None:
        raise NotFound(_("There is no plan “%(code)s” on sale.") % {"code": payload.plan},
                       code="plan_not_found")
    if (payload.card is None) == (not payload.new_esim):
        message = _("Give either card (one of your cards) or new_esim: true, not both.")
        error = ServiceError(message, code="invalid_request")
        error.errors = [{"field": "card", "message": str(message)}]
        raise error
    card = None
    if payload.card is not None:
        try:
            card = card_get_for_customer(customer=customer, card_public_id=payload.card)
        except NotFound as error:
            raise NotFound(error.message, code="card_not_found") from error
    existed = Order.objects.filter(customer=customer, idempotency_key=key).exists()
    order = order_create(customer=customer, card=card, plan=plan, currency=payload.currency,
                         coupon_code=payload.coupon_code, idempotency_key=key,
                         now=timezone.now(), language=get_language() or "")
    order = order_get_for_customer(customer=customer, order_public_id=order.public_id)
    return Status(200 if existed else 201, order_out(order))


class OrderFilters(Schema):
    status: OrderStatus | None = Field(None, description="Only orders in this status.")


class OrderEventOut(Schema):
    from_status: str = Field(description="Empty for the order's creation.")
    to_status: str
    at: datetime


class OrderDetailOut(OrderOut):
    history: list[OrderEventOut] = Field(description="Every status change, oldest first.")


@router.get("/orders", auth=customer_auth, response=Page[OrderOut],
            summary="Your orders, newest first")
def list_orders(request: HttpRequest, filters: Query[OrderFilters], page: Query[CursorParams]):
    orders = orders_for_customer(customer=request.auth)
    if filters.status:
        orders = orders.filter(status=filters.status)
    result = paginate(orders, params=page, key="created_at", descending=True)
    result["items"] = [order_out(order) for order in result["items"]]
    return result


@router.get("/orders/{order_id}", auth=customer_auth, response=OrderDetailOut,
            summary="One order, with its status history")
def get_order(request: HttpRequest, order_id: str):
    order = order_get_for_customer(customer=request.auth, order_public_id=order_id)
    return {**order_out(order),
            "history": [{"from_status": event.from_status, "to_status": event.to_status,
                         "at": event.at} for event in order.events.all()]}


class PayIn(Schema):
    gateway: str = Field(min_length=1, max_length=32, description="e.g. sandbox, stripe.")
    save_method: StrictBool = Field(False,
                                    description="Keep the payment method for auto-renewal.")


class PayOut(Schema):
    redirect_url: str = Field(description="Send the customer here to pay.")


@router.post("/orders/{order_id}/pay", auth=customer_auth,
             response={200: PayOut, **problem_responses(409)},
             summary="Pay for an order",
             description="Safe to repeat: an open payment attempt is resumed, never charged "
                         "twice. An order already paid is 409 `order_paid`.")
def pay_order(request: HttpRequest, order_id: str, payload: PayIn):
    order = order_get_for_customer(customer=request.auth, order_public_id=order_id)
    return_url = request.build_absolute_uri(
        reverse("portal:order_detail", args=[order.public_id]))
    redirect_url = order_pay(order=order, gateway=payload.gateway, return_url=return_url,
                             now=timezone.now(), save_method=payload.save_method)
    return {"redirect_url": redirect_url}


class ReceiptOut(Schema):
    order: UUID
    receipt_number: str
    customer_email: str
    plan: OrderPlanOut
    card_iccid: str | None
    currency: str
    subtotal_minor: int
    discount_minor: int
    total_minor: int
    coupon_code: str
    paid_at: datetime
    status: str
    period: PeriodOut | None


@router.get("/orders/{order_id}/receipt", auth=customer_auth, response=ReceiptOut,
            summary="Receipt of a paid order",
            description="404 `no_receipt` for an order that was not paid.")
def get_receipt(request: HttpRequest, order_id: str):
    order = order_get_for_customer(customer=request.auth, order_public_id=order_id)
    if not order.is_settled:
        raise NotFound(_("There is no receipt for an order that was not paid."),
                       code="no_receipt")
    out = order_out(order)
    return {
        "order": order.public_id,
        "receipt_number": order.reference,
        "customer_email": order.customer.email,
        "plan": out["plan"],
        "card_iccid": order.card.iccid if order.card_id else None,
        "currency": order.currency,
        "subtotal_minor": out["subtotal_minor"],
        "discount_minor": out["discount_minor"],
        "total_minor": out["total_minor"],
        "coupon_code": order.coupon_code,
        "paid_at": order.paid_at,
        "status": order.status,
        "period": out["period"],
    }

