"""From a confirmed payment to an active period, exactly once; and what a decline does.

Payment confirmations arrive at least once, in any order, possibly ten at a time:
every step here locks the order row first and checks where the order already is,
so duplicates find the work done and change nothing.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from simdesk.cards.models import Card, CardEvent
from simdesk.cards.network import network_request
from simdesk.cards.services import period_create
from simdesk.core.errors import ServiceError
from simdesk.notifications.messages import (
    notify_esim_activation,
    notify_order_receipt,
    notify_payment_failed,
)

from ..models import Order, OrderStatus
from ..selectors import esim_inventory
from ..webhooks import order_paid_emit
from .coupons import coupon_confirm, coupon_release
from .plan_change import plan_change_close_replaced, plan_change_refund_after_commit

logger = logging.getLogger(__name__)


def _site_url(path: str) -> str:
    from django.conf import settings

    return f"{settings.SITE_URL}{path}"


def _lock(order: Order) -> Order:
    """The order row again, locked until the transaction ends, with what fulfilment reads
    (the plan's names are copied onto the period in every language)."""
    return (Order.objects.select_for_update(of=("self",))
            .select_related("customer", "plan", "card")
            .prefetch_related("plan__translations").get(pk=order.pk))


def order_mark_paid(*, order: Order, now: datetime, note: str = "") -> Order:
    """Record that the order's payment succeeded. A payment confirmed after a decline of
    an earlier attempt, or after the order expired, was still taken and is honoured.
    Safe to call twice: an order already paid (or further) is returned unchanged."""
    with transaction.atomic():
        order = _lock(order)
        if order.paid_at is None:
            order.mark_paid(at=now, note=note)
            order_paid_emit(order=order, now=now)
    return order


def _take_esim(order: Order, now: datetime) -> Card:
    """Give the customer a card from the staff-imported eSIM stock.

    ``skip_locked`` lets concurrent checkouts on PostgreSQL take different cards
    instead of queueing on the same one; SQLite serializes writers anyway.
    """
    from django.db import connection

    stock = esim_inventory()
    if connection.features.has_select_for_update_skip_locked:
        stock = stock.select_for_update(skip_locked=True)
    else:
        stock = stock.select_for_update()
    card = stock.first()
    if card is None:
        raise ServiceError(_("No new eSIM was left in stock for this order."),
                           code="no_esim_inventory")
    card.owner = order.customer
    card.claimed_at = now
    card.save(update_fields=["owner", "claimed_at", "updated_at"])
    CardEvent.objects.create(card=card, kind=CardEvent.Kind.CLAIMED, at=now,
                             note=order.reference)
    order.card = card
    order.save(update_fields=["card", "updated_at"])
    return card


def receipt_for(order: Order) -> dict:
    """The receipt as the notifications contract wants it (strings and integers only)."""
    period = order.period
    return {
        "order_id": str(order.public_id),
        "created_at": order.created_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "plan_name": order.plan_name,
        "card_iccid": order.card.iccid if order.card else "",
        "amount_minor": int(order.subtotal_minor),
        "discount_minor": int(order.discount_minor),
        "total_minor": int(order.total_minor),
        "currency": order.currency,
        "period_starts_at": period.starts_at.isoformat() if period and period.starts_at
        else None,
        "period_ends_at": period.ends_at.isoformat() if period and period.ends_at else None,
        "data_bytes": int(order.plan.data_bytes) if order.plan.data_bytes is not None
        else None,
        "receipt_url": _site_url(reverse("portal:order_receipt", args=[order.public_id])),
    }


def order_fulfil(*, order: Order, now: datetime) -> Order:
    """Make the period a paid order bought, once.

    Under the order's row lock: a new-eSIM order first takes a card from stock;
    then ``period_create(source="order:<id>")`` (itself idempotent by source) applies
    the plan's stacking rule; the network is asked to activate the card; the coupon
    is confirmed; the receipt (and, for a new eSIM, the activation details) is queued.
    E-mails and network calls go out only after the transaction commits.

    Safe to call any number of times, concurrently too: a fulfilled order is returned
    unchanged. An order that is not paid is refused. If the stock of eSIMs is empty
    the order stays paid with the problem noted, and the sweep tries again.
    """
    with transaction.atomic():
        return _fulfil_locked(_lock(order), now)


def order_payment_confirmed(*, order: Order, now: datetime, note: str = "") -> Order:
    """The gateway confirmed the payment: mark the order paid and fulfil it, in one
    transaction under one lock of the order row (the hot path from webhook to period).
    Safe to call any number of times, concurrently too (see ``order_fulfil``)."""
    with transaction.atomic():
        order = _lock(order)
        if order.paid_at is None:
            order.mark_paid(at=now, note=note)
            order_paid_emit(order=order, now=now)
        return _fulfil_locked(order, now)


def _fulfil_locked(order: Order, now: datetime) -> Order:
    if order.status != OrderStatus.PAID:
        if order.status in (OrderStatus.FULFILLED, OrderStatus.REFUNDED,
                            OrderStatus.PARTIALLY_REFUNDED):
            return order
        raise ServiceError(_("Only a paid order can be fulfilled."), code="order_not_paid")
    try:
        # No savepoint of our own: a card taken from stock stays with the order (a retry
        # uses it rather than taking another), and period_create rolls back its own work.
        card = order.card if order.card_id else _take_esim(order, now)
        if order.replaces_period_id:
            plan_change_close_replaced(order=order, now=now)  # the new plan starts at once
        period = period_create(card=card, plan=order.plan, source=order.reference, now=now)
    except ServiceError as error:
        order.fulfilment_error = str(error)[:300]
        order.save(update_fields=["fulfilment_error", "updated_at"])
        logger.warning("order %s paid but not fulfilled: %s", order.public_id, error)
        return order
    order.mark_fulfilled(at=now, period=period)
    if order.replaces_period_id and order.plan_change_refund_minor:
        plan_change_refund_after_commit(order=order, now=now)
    network_request(card=card, action="activate", reason=order.reference, now=now,
                    dedupe_key=f"{order.reference}:activate")
    if order.coupon_code:
        coupon_confirm(reference=order.reference, now=now)
    notify_order_receipt(user=order.customer, receipt=receipt_for(order),
                         dedupe_key=f"{order.reference}:receipt", now=now)
    if order.new_esim and card.activation_code:
        notify_esim_activation(user=order.customer, iccid=card.iccid,
                               activation_code=f"LPA:{card.activation_code}",
                               dedupe_key=f"{order.reference}:esim", now=now)
    return order


def order_payment_failed(*, order: Order, reason: str, now: datetime, payment=None) -> Order:
    """A payment attempt was declined or cancelled: the order says why, the customer is
    told (with a link to try again) and the coupon is released for others.

    Only the order's current attempt counts: a late failure of an older attempt, or
    one for an order already paid, changes nothing. Safe to call twice.
    """
    with transaction.atomic():
        order = _lock(order)
        if payment is not None and order.payment_id not in (None, payment.pk):
            return order
        if order.status != OrderStatus.PENDING_PAYMENT:
            return order
        order.mark_payment_failed(at=now, message=reason)
        if order.coupon_code:
            coupon_release(reference=order.reference, now=now)
            order.coupon_code = ""
            order.total_minor = order.subtotal_minor
            order.discount_minor = 0
            order.save(update_fields=["coupon_code", "discount_minor", "total_minor",
                                      "updated_at"])
        notify_payment_failed(
            user=order.customer, reason=reason,
            retry_url=_site_url(reverse("portal:checkout", args=[order.public_id])),
            dedupe_key=f"{order.reference}:failed:{order.payment_attempts}", now=now,
        )
    return order
