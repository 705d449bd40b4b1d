"""Alipay's two browser steps at simdesk: off to Alipay's cashier, and back from it.

- ``pay/<payment id>``: the customer's own open payment (ownership checked by the
  payments selector) is signed into an Alipay cashier address at this moment and
  the browser redirected there: WAP pay for phones, page pay for desktops.
  ``?device=phone`` or ``?device=desktop`` (from a checkout that knows) wins over
  the User-Agent guess.
- ``return/``: Alipay sends the browser back with signed parameters. They are
  verified, but never trusted to mark anything paid: the payment is reconciled
  (``alipay.trade.query``) through the payments services, then the customer goes
  on to the payment's own return address. A bad signature gets a 400 page.
"""

import logging
import re
from functools import cache
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.template import engines
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from simdesk.core.clock import utcnow
from simdesk.core.errors import NotFound
from simdesk.payments.gateways import enabled_gateway_names
from simdesk.payments.models import Payment, PaymentStatus
from simdesk.payments.selectors import payment_get_for_customer
from simdesk.payments.services import payment_reconcile

from ..base import GatewayError, WebhookRejected
from .gateway import AlipayGateway, out_trade_no_for

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Browsers that should get Alipay's WAP cashier (it hands over to the Alipay app).
PHONE_AGENT = re.compile(r"Mobi|Android|iPhone|iPod|Windows Phone|HarmonyOS|OpenHarmony|"
                         r"AlipayClient|MicroMessenger", re.IGNORECASE)


@cache
def _template(name: str):
    # This vendor's templates live in its folder, which is not an app: compile them
    # with the project's engine so they extend base.html and use its context.
    return engines["django"].from_string((TEMPLATES / name).read_text(encoding="utf-8"))


def _problem(request, *, status: int, title: str, message: str) -> HttpResponse:
    html = _template("alipay/problem.html").render(
        {"title": title, "message": message, "back_url": reverse("portal:orders")}, request)
    return HttpResponse(html, status=status)


def is_phone(request) -> bool:
    device = request.GET.get("device", "")
    if device in ("phone", "desktop"):
        return device == "phone"
    return bool(PHONE_AGENT.search(request.headers.get("User-Agent", "")))


def _gateway() -> AlipayGateway:
    return AlipayGateway()


@login_required
@require_GET
def pay_redirect(request, payment_id):
    try:
        payment = payment_get_for_customer(customer=request.user, payment_id=payment_id)
    except NotFound:
        payment = None
    if payment is None or payment.gateway != AlipayGateway.name:
        return _problem(request, status=404, title=_("Payment not found"),
                        message=_("There is no such Alipay payment in your account."))
    if payment.status not in (PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION):
        # Paid, failed or refunded already: nothing to do at Alipay.
        return HttpResponseRedirect(payment.return_url or reverse("portal:orders"))
    try:
        if AlipayGateway.name not in enabled_gateway_names():
            # Switched off (or its keys removed) since the payment started.
            raise GatewayError(detail="alipay is not enabled")
        url = _gateway().pay_url(payment=payment, phone=is_phone(request))
    except GatewayError as error:
        logger.error("alipay: cannot sign the cashier address for %s: %s", payment.public_id,
                     error.detail)
        return _unavailable(request)
    return HttpResponseRedirect(url)


def _unavailable(request) -> HttpResponse:
    return _problem(request, status=503, title=_("Alipay is not available"),
                    message=_("Alipay cannot be reached from here at the moment. Try again in "
                              "a few minutes or choose another payment method."))


@require_GET
def return_page(request):
    params = {key: request.GET[key] for key in request.GET}
    if any(len(request.GET.getlist(key)) > 1 for key in request.GET):
        params = {}
    try:
        params = _gateway().verified_params(params)
    except WebhookRejected as rejected:
        logger.warning("alipay: rejected a return: %s", rejected.detail)
        return _problem(request, status=400, title=_("This return from Alipay is not valid"),
                        message=_("The address you came back with was not signed by Alipay, "
                                  "so it proves nothing about your payment."))
    except GatewayError as error:
        logger.error("alipay: cannot verify a return: %s", error.detail)
        return _unavailable(request)
    out_trade_no = params.get("out_trade_no", "")
    payment = (Payment.objects.filter(gateway=AlipayGateway.name,
                                      gateway_payment_id=out_trade_no).first()
               if out_trade_no else None)
    if payment is None or out_trade_no_for(payment) != out_trade_no:
        return _problem(request, status=404, title=_("Payment not found"),
                        message=_("Alipay sent you back about a payment this site does not "
                                  "know."))
    # Alipay's return only says the customer finished at the cashier; what happened to
    # the money is asked of Alipay itself (and the notify says it again).
    try:
        payment_reconcile(payment=payment, now=utcnow())
    except NotFound:
        # Alipay was switched off meanwhile: the reconciliation sweep asks again later.
        logger.warning("alipay: return for %s while alipay is not enabled", payment.public_id)
    return HttpResponseRedirect(payment.return_url or reverse("portal:orders"))
