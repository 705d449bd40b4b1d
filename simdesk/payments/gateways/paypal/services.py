"""What simdesk does when the customer comes back from PayPal: capture, or give up.

Capturing happens with the payment row locked (like every gateway call that moves
money, see payments.services), so a double click, a reload and the approval
webhook never send PayPal two captures at the same moment; PayPal-Request-Id then
makes a later repeat harmless too.
"""

import logging
from datetime import datetime

from django.db import transaction

from simdesk.payments.gateways import get_gateway
from simdesk.payments.gateways.base import Outcome
from simdesk.payments.models import Payment, PaymentStatus
from simdesk.payments.services import payment_apply_outcome

from .gateway import OrderState

logger = logging.getLogger(__name__)

OPEN = (PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION)


class AmountMismatch(Exception):
    """PayPal captured another amount than the payment's: never applied, staff look."""


def paypal_payment_capture(*, payment: Payment, now: datetime) -> OrderState | None:
    """Capture the approved PayPal order of an open ``payment`` and apply the outcome.

    Rule: only an open payment (pending or waiting for the payer) is captured; for any
    other the answer is None and nothing is asked of PayPal. A capture PayPal reports
    for another amount or currency than the payment's raises AmountMismatch and
    changes nothing. GatewayError (PayPal silent or refusing) leaves the payment as it
    was, to be captured on the next return or by the approval webhook. Safe to call
    any number of times, concurrently too.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status not in OPEN:
            return None
        state = get_gateway("paypal").capture(payment=payment)
        if state.outcome == Outcome.SUCCEEDED and (state.amount_minor, state.currency) != (
                payment.amount_minor, payment.currency):
            logger.error("paypal: order %s captured %s %s, payment %s is for %s %s",
                         state.order_id, state.amount_minor, state.currency, payment.public_id,
                         payment.amount_minor, payment.currency)
            raise AmountMismatch(state.order_id)
        payment_apply_outcome(payment=payment, outcome=state.outcome, source="paypal:return",
                              now=now, failure_code=state.failure_code,
                              failure_message=state.failure_message,
                              saved_method_token=state.saved_method_token,
                              saved_method_label=state.saved_method_label)
    return state


def paypal_payment_cancel(*, payment: Payment, now: datetime) -> bool:
    """The customer cancelled at PayPal: the open payment is cancelled (True if it was).

    Rule: PayPal's order is never captured after this (the return page and the approval
    webhook capture only open payments), so paying again starts a new PayPal order
    instead of resuming one that may have expired. A payment already settled stays
    as it is. Safe to call twice.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status not in OPEN:
            return False
        return payment_apply_outcome(payment=payment, outcome=Outcome.CANCELLED,
                                     source="paypal:cancel", failure_code="cancelled", now=now)
