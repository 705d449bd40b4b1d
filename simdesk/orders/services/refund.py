"""Recording on the order that its payment was refunded (the refund itself is payments')."""

from datetime import datetime

from django.db import transaction

from ..models import Order, OrderStatus


def order_mark_refunded(*, order: Order, refunded_minor: int, now: datetime,
                        note: str = "") -> Order:
    """The order's payment was refunded by ``refunded_minor`` in total so far: the order
    becomes refunded (all of it) or partially refunded.

    Only a paid order moves; a refund of an order that was never paid changes nothing.
    Safe to call twice with the same total (nothing moves the second time).
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.paid_at is None or order.status == OrderStatus.REFUNDED:
            return order
        target = (OrderStatus.REFUNDED if refunded_minor >= order.total_minor
                  else OrderStatus.PARTIALLY_REFUNDED)
        if order.status == target and target == OrderStatus.PARTIALLY_REFUNDED \
                and note and order.events.filter(note=note[:300]).exists():
            return order
        order.transition(target, at=now, note=note)
    return order
