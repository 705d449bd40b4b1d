"""Closing orders nobody paid for in time."""

from datetime import datetime

from django.db import transaction

from ..models import Order
from ..selectors import orders_due_to_expire
from .coupons import coupon_release


def order_expire(*, order: Order, now: datetime) -> Order:
    """Expire an unpaid order past its deadline and release its coupon.

    An order paid, or still within its deadline, is left alone; safe to call twice.
    An open payment attempt is not cancelled here: if its confirmation still arrives,
    the money was taken and the order is fulfilled all the same.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if not order.is_payable or order.expires_at > now:
            return order
        order.mark_expired(at=now)
        if order.coupon_code:
            coupon_release(reference=order.reference, now=now)
    return order


def orders_expire(*, now: datetime) -> int:
    """Expire every unpaid order past its deadline; returns how many were expired."""
    count = 0
    for order in orders_due_to_expire(now=now).only("pk").iterator():
        if order_expire(order=order, now=now).status == "expired":
            count += 1
    return count
