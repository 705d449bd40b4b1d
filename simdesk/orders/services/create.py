"""Creating an order at checkout, and re-pricing it with a coupon on the review page."""

import hashlib
import json
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from simdesk.cards.models import Card, CardState
from simdesk.cards.selectors import card_get_for_customer
from simdesk.catalog.models import Plan, PlanKind
from simdesk.core.errors import Conflict, NotFound, ServiceError

from ..models import Order, OrderStatus
from ..selectors import esim_inventory
from .coupons import coupon_release, coupon_reserve

MAX_KEY_LENGTH = 100


def order_payment_timeout() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "ORDER_PAYMENT_TIMEOUT_MINUTES", 30)))


def _fingerprint(*, card: Card | None, plan: Plan, currency: str, coupon_code: str) -> str:
    """What the request asked for: a retry with the same key must ask for the same thing."""
    body = {"card": str(card.public_id) if card else "new-esim", "plan": plan.code,
            "currency": currency, "coupon": coupon_code}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _normalize_coupon(code: str | None) -> str:
    return (code or "").strip().upper()


def _check_request(*, customer, card: Card | None, plan: Plan, currency: str) -> int:
    """Refuse what cannot be sold; returns the plan's price in ``currency``."""
    if not plan.is_active:
        raise ServiceError(_("This plan is no longer on sale. Choose another plan."),
                           code="plan_archived")
    if currency not in settings.CURRENCIES:
        raise ServiceError(_("We do not sell in %(currency)s. Choose another currency.")
                           % {"currency": currency}, code="currency_not_sold")
    price = plan.price_in(currency)
    if price is None:
        raise ServiceError(_("This plan is not sold in %(currency)s. Choose another currency.")
                           % {"currency": currency}, code="no_price")
    if card is None:
        if plan.kind == PlanKind.TOPUP:
            raise ServiceError(_("A top-up adds data to a card you already have: choose one "
                                 "of your cards."), code="topup_needs_card")
        if not esim_inventory().exists():
            raise ServiceError(_("We have no new eSIMs available right now. Please try "
                                 "again later."), code="no_esim_inventory")
    else:
        # Ownership through the one selector that decides it.
        try:
            card_get_for_customer(customer=customer, card_public_id=card.public_id)
        except NotFound as error:
            raise NotFound(error.message, code="card_not_found") from error
        if card.state == CardState.TERMINATED:
            raise ServiceError(_("This card is terminated; a plan cannot be added to it."),
                               code="card_terminated")
    return price.amount_minor


def order_create(*, customer, card: Card | None, plan: Plan, currency: str,
                 coupon_code: str = "", idempotency_key: str, now: datetime,
                 language: str = "") -> Order:
    """Open an order for ``plan`` on ``card`` (None: a new eSIM), priced in ``currency``.

    Rules: the plan is on sale and priced in that currency; the card is the
    customer's and not terminated; a top-up needs an existing card; a new eSIM
    needs one in stock. A coupon is reserved for the order (its limits hold under
    concurrent checkouts). The customer has ``ORDER_PAYMENT_TIMEOUT_MINUTES`` to pay.

    Safe to call twice: the same ``idempotency_key`` with the same request returns
    the original order; with a different request it raises Conflict (409).
    """
    key = (idempotency_key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ServiceError(_("This checkout form is out of date. Reload the page and try "
                             "again."), code="idempotency_key_missing")
    currency = (currency or "").strip().upper()
    coupon_code = _normalize_coupon(coupon_code)
    fingerprint = _fingerprint(card=card, plan=plan, currency=currency, coupon_code=coupon_code)

    existing = Order.objects.filter(customer=customer, idempotency_key=key).first()
    if existing is not None:
        return _same_request(existing, fingerprint)

    subtotal = _check_request(customer=customer, card=card, plan=plan, currency=currency)
    try:
        with transaction.atomic():
            order = Order.objects.create(
                customer=customer, card=card, new_esim=card is None, plan=plan,
                plan_name=plan.name_for(language or customer.language or "en"),
                currency=currency, subtotal_minor=subtotal, discount_minor=0,
                total_minor=subtotal, status=OrderStatus.PENDING_PAYMENT,
                idempotency_key=key, request_fingerprint=fingerprint, language=language,
                expires_at=now + order_payment_timeout(),
            )
            order.events.create(from_status="", to_status=order.status, at=now,
                                note="created")
            if coupon_code:
                _reserve(order, coupon_code, now)
    except IntegrityError:
        # Two submits of the same form raced: the first one's order is the answer.
        existing = Order.objects.filter(customer=customer, idempotency_key=key).first()
        if existing is None:
            raise
        return _same_request(existing, fingerprint)
    return order


def _same_request(order: Order, fingerprint: str) -> Order:
    if order.request_fingerprint != fingerprint:
        raise Conflict(_("This checkout form was already used for a different order. Reload "
                         "the page to start a new one."), code="idempotency_key_reused")
    return order


def _reserve(order: Order, code: str, now: datetime) -> None:
    discount = coupon_reserve(code=code, customer=order.customer, plan=order.plan,
                              currency=order.currency, amount_minor=order.subtotal_minor,
                              reference=order.reference, now=now)
    off = min(int(discount.amount_off_minor), order.subtotal_minor)
    order.coupon_code = code
    order.discount_minor = off
    order.total_minor = order.subtotal_minor - off
    order.save(update_fields=["coupon_code", "discount_minor", "total_minor", "updated_at"])


def order_apply_coupon(*, order: Order, coupon_code: str, now: datetime) -> Order:
    """Re-price an unpaid order with ``coupon_code`` (an empty code removes the coupon).

    The previous coupon's reservation is released first. A coupon that does not
    apply raises ServiceError with the reason and leaves the order as it was.
    Safe to call twice with the same code.
    """
    code = _normalize_coupon(coupon_code)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        # While the customer is at the gateway the amount being paid must not change.
        paying = order.status == OrderStatus.PENDING_PAYMENT and _payment_in_progress(order)
        if not order.is_payable or paying:
            raise ServiceError(_("The price of this order can no longer change: its payment "
                                 "has started."), code="order_locked")
        if code == order.coupon_code:
            return order
        if order.coupon_code:
            coupon_release(reference=order.reference, now=now)
            order.coupon_code = ""
            order.discount_minor = 0
            order.total_minor = order.subtotal_minor
            order.save(update_fields=["coupon_code", "discount_minor", "total_minor",
                                      "updated_at"])
        if code:
            _reserve(order, code, now)
        order.events.create(from_status=order.status, to_status=order.status, at=now,
                            note=f"coupon {code or '-'}")
    return order


def _payment_in_progress(order: Order) -> bool:
    from .pay import payment_is_open

    return order.payment_id is not None and payment_is_open(order.payment)
