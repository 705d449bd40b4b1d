"""Reads for the PayPal pages (ownership lives here, not in the views)."""

import uuid

from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import NotFound
from simdesk.payments.models import Payment


def paypal_payment_get_for_customer(*, customer, payment_id, order_id: str | None = None
                                    ) -> Payment:
    """The customer's own PayPal payment by its public id; NotFound for anyone else's.

    ``order_id`` (PayPal's ``token`` on the way back) must be the payment's order when
    given: a return for another order is not this payment's.
    """
    try:
        public_id = uuid.UUID(str(payment_id))
    except ValueError:
        public_id = None
    payment = (Payment.objects.filter(public_id=public_id, customer=customer, gateway="paypal")
               .exclude(gateway_payment_id="").first()
               if public_id and getattr(customer, "pk", None) else None)
    if payment is None or (order_id is not None and order_id != payment.gateway_payment_id):
        raise NotFound(_("There is no such payment."))
    return payment
