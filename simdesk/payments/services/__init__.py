"""Everything simdesk can do to a payment: ``grep "def payment_\\|def webhook_"``."""

from .payments import (
    payment_apply_outcome,
    payment_charge_saved_method,
    payment_open,
    payment_reconcile,
    payment_refund,
    payment_start,
    saved_method_remove,
)
from .webhooks import webhook_event_process, webhook_receive

__all__ = [
    "payment_apply_outcome",
    "payment_charge_saved_method",
    "payment_open",
    "payment_reconcile",
    "payment_refund",
    "payment_start",
    "saved_method_remove",
    "webhook_event_process",
    "webhook_receive",
]
