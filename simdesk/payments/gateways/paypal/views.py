"""Where PayPal sends the customer back: after approving (capture, then the order page)
or after cancelling (the order page, with a word about it).

The payment's opaque id is in the address and PayPal adds its order id as
``?token=``; both must belong to the signed-in customer.
"""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from simdesk.core.clock import utcnow
from simdesk.core.errors import NotFound
from simdesk.payments.gateways.base import GatewayError, Outcome

from .selectors import paypal_payment_get_for_customer
from .services import AmountMismatch, paypal_payment_cancel, paypal_payment_capture

logger = logging.getLogger(__name__)


def _back(request, payment) -> HttpResponseRedirect:
    """To the page the payment was started from (only ever an address on this site)."""
    allowed = {request.get_host(), settings.SITE_URL.split("://", 1)[-1].split("/")[0]}
    url = payment.return_url
    if not url or not url_has_allowed_host_and_scheme(url, allowed_hosts=allowed):
        url = "/"
    return HttpResponseRedirect(url)


def _payment(request, payment_id, order_id=None):
    try:
        return paypal_payment_get_for_customer(customer=request.user, payment_id=payment_id,
                                               order_id=order_id)
    except NotFound:
        raise Http404(_("There is no such payment.")) from None


@login_required
@require_GET
def return_page(request, payment_id):
    payment = _payment(request, payment_id, order_id=request.GET.get("token", "")[:100])
    try:
        state = paypal_payment_capture(payment=payment, now=utcnow())
    except NotFound:  # PayPal was switched off since: reconciliation settles it later
        messages.error(request, _("PayPal is not available right now. Nothing more will be "
                                  "charged; this page updates once the payment is known."))
        return _back(request, payment)
    except GatewayError as error:
        logger.warning("paypal: capture of %s failed: %s", payment.public_id, error.detail)
        messages.error(request, error.message)
        return _back(request, payment)
    except AmountMismatch:
        messages.error(request, _("PayPal reported a different amount. We are looking into "
                                  "it; nothing more will be charged."))
        return _back(request, payment)
    if state is not None and state.outcome == Outcome.FAILED:
        payment.refresh_from_db()
        messages.error(request, payment.failure_reason)
    elif state is not None and state.outcome == Outcome.PENDING:
        messages.info(request, _("PayPal has not confirmed the payment yet. This page "
                                 "updates when it does."))
    return _back(request, payment)


@login_required
@require_GET
def cancel_page(request, payment_id):
    payment = _payment(request, payment_id)
    if paypal_payment_cancel(payment=payment, now=utcnow()):
        messages.info(request, _("You left PayPal without paying. Nothing was charged; you "
                                 "can choose how to pay again."))
    return _back(request, payment)
