"""What orders tell integrators through outgoing webhooks (public ids, ISO times, minor units)."""

from datetime import datetime

from simdesk.integrations.models import EventType
from simdesk.integrations.services import event_emit, event_wanted

from .models import Order


def order_paid_emit(*, order: Order, now: datetime) -> None:
    """``order.paid``, once per order. ``card`` is null for a new-eSIM order until
    fulfilment assigns one (``period.activated`` then names it)."""
    if not event_wanted(EventType.ORDER_PAID):
        return
    event_emit(type=EventType.ORDER_PAID, dedupe_key=f"{EventType.ORDER_PAID}:{order.public_id}",
               now=now, data={
                   "order": str(order.public_id),
                   "customer": str(order.customer.public_id),
                   "card": str(order.card.public_id) if order.card_id else None,
                   "new_esim": order.new_esim,
                   "plan": order.plan.code,
                   "currency": order.currency,
                   "subtotal_minor": int(order.subtotal_minor),
                   "discount_minor": int(order.discount_minor),
                   "total_minor": int(order.total_minor),
                   "coupon_code": order.coupon_code or None,
                   "paid_at": order.paid_at.isoformat() if order.paid_at else None,
               })
