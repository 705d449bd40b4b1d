"""What renewals do when payments says a renewal charge finished later than the charge
call (the customer confirmed it with their bank, or failed to).

Connected in ``RenewalsConfig.ready``; signals come after the payment's transaction
commits, possibly more than once for one payment. Payments of anything else are ignored.
"""

from simdesk.core.clock import utcnow

from .services import renewal_payment_failed, renewal_payment_succeeded


def on_payment_succeeded(sender, *, payment, **kwargs) -> None:
    renewal_payment_succeeded(payment=payment, now=utcnow())


def on_payment_failed(sender, *, payment, **kwargs) -> None:
    renewal_payment_failed(payment=payment, now=utcnow())
