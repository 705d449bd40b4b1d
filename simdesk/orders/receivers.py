"""What orders do when payments says a payment succeeded or failed.

Connected in ``OrdersConfig.ready``: payments never imports orders. Signals come
after the payment's transaction commits, possibly more than once for one payment.
"""

from django.utils import translation

from simdesk.core.clock import utcnow

from .selectors import order_get_by_reference
from .services import order_payment_confirmed, order_payment_failed


def on_payment_succeeded(sender, *, payment, **kwargs) -> None:
    order = order_get_by_reference(reference=payment.reference)
    if order is None:
        return  # a payment for something else (a renewal, …)
    order_payment_confirmed(order=order, now=utcnow(), note=f"payment {payment.public_id}")


def on_payment_failed(sender, *, payment, **kwargs) -> None:
    order = order_get_by_reference(reference=payment.reference)
    if order is None:
        return
    # The reason goes into an e-mail: write it in the customer's language.
    with translation.override(order.language or order.customer.language or "en"):
        reason = str(payment.failure_reason)
    order_payment_failed(order=order, reason=reason, payment=payment, now=utcnow())
