"""Everything simdesk can do to an order: ``grep "def order"`` lists it."""

from .create import order_apply_coupon, order_create
from .expire import order_expire, orders_expire
from .fulfil import order_fulfil, order_mark_paid, order_payment_confirmed, order_payment_failed
from .pay import order_pay
from .plan_change import (
    plan_change_close_replaced,
    plan_change_order_create,
    plan_change_preview,
    plan_change_refund,
    plan_changes_refund_due,
)
from .refund import order_mark_refunded
from .refund_requests import refund_request_approve, refund_request_create, refund_request_reject
from .staff_refund import order_refund_staff, order_refundable_minor

__all__ = [
    "order_apply_coupon", "order_create", "order_expire", "order_fulfil", "order_mark_paid",
    "order_mark_refunded", "order_refund_staff", "order_refundable_minor",
    "order_pay", "order_payment_confirmed", "order_payment_failed", "orders_expire",
    "plan_change_close_replaced", "plan_change_order_create", "plan_change_preview",
    "plan_change_refund",
    "plan_changes_refund_due", "refund_request_approve", "refund_request_create",
    "refund_request_reject",
]
