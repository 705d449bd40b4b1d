"""Everything simdesk can do to an order: ``grep "def order"`` lists it."""

from .create import order_apply_coupon, order_create
from .expire import order_expire, orders_expire
from .fulfil import order_fulfil, order_mark_paid, order_payment_confirmed, order_payment_failed
from .pay import order_pay
from .refund import order_mark_refunded

__all__ = [
    "order_apply_coupon", "order_create", "order_expire", "order_fulfil", "order_mark_paid",
    "order_mark_refunded",
    "order_pay", "order_payment_confirmed", "order_payment_failed", "orders_expire",
]
