"""What orders do when payments says a payment succeeded or failed.

Connected in ``OrdersConfig.ready``: payments never imports orders. Signals come
after the payment's transaction commits, possibly more than once for one payment.
"""

from django.utils import translation

from simdesk.core.clock import utcnow

from .selectors import order_get_by_reference
from .services import order_mark_refunded, order_payment_confirmed, order_payment_failed


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


def on_payment_refunded(sender, *, payment, refund=None, **kwargs) -> None:
    order = order_get_by_reference(reference=payment.reference)
    if order is None or order.payment_id != payment.pk:
        return
    note = f"refund {refund.public_id}" if refund is not None else "refund"
    order_mark_refunded(order=order, refunded_minor=int(payment.refunded_minor),
                        now=utcnow(), note=note)
