"""simdesk's Stripe pages: the card form (Stripe.js) and the way back from 3-D Secure.

Only the payment's own customer may open them (the opaque payment id plus the
ownership selector); anyone else gets 404. The card number never reaches
simdesk: Stripe.js turns it into a PaymentMethod in the browser and only its id
is POSTed, with Django's CSRF token, to ``pay_confirm``, which answers JSON for
the page's script.
"""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from simdesk.core.clock import utcnow
from simdesk.core.errors import NotFound, ServiceError
from simdesk.core.money import Money
from simdesk.core.security import csp_allow, origin

from ...models import Payment, PaymentStatus
from ...selectors import payment_get_for_customer
from ..base import GatewayError
from .services import PayState, stripe_pay_confirm, stripe_pay_refresh

logger = logging.getLogger(__name__)

FINISHED = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED,
            PaymentStatus.FAILED, PaymentStatus.CANCELLED)

# Stripe.js's locale names for simdesk's languages ("auto": the browser's).
STRIPE_LOCALES = {"zh-hans": "zh", "zh-hant": "zh-HK", "ja": "ja", "es": "es", "en": "en"}


def _stripe_api() -> list[str]:
    return [origin(settings.STRIPE_API_BASE) or "https://api.stripe.com"]


# What Stripe.js needs on the pages that load it (Stripe's published CSP list): its
# script, its frames (card element, 3-D Secure) and its API; every other page keeps
# the strict policy.
stripe_js_allowed = csp_allow(script_src=["https://js.stripe.com"],
                              frame_src=["https://js.stripe.com", "https://hooks.stripe.com"],
                              connect_src=_stripe_api)


def _payment_or_404(request, payment_id) -> Payment:
    try:
        payment = payment_get_for_customer(customer=request.user, payment_id=payment_id)
    except NotFound as error:
        raise Http404(str(error)) from error
    if payment.gateway != "stripe":
        raise Http404(_("There is no such payment."))
    return payment


def _back_url(payment: Payment) -> str:
    return payment.return_url or reverse("portal:home")


def _finished_url(payment: Payment) -> str:
    return payment.return_url or reverse("stripe:return", kwargs={"payment_id": payment.public_id})


def _context(request, state: PayState, *, mode: str, error: str = "") -> dict:
    payment = state.payment
    return {
        "payment": payment,
        "amount": Money(payment.amount_minor, payment.currency),
        "mode": mode,  # "pay" | "authenticate"
        "finished": payment.status in FINISHED,
        "succeeded": payment.status in (PaymentStatus.SUCCEEDED,
                                        PaymentStatus.PARTIALLY_REFUNDED,
                                        PaymentStatus.REFUNDED),
        "needs_action": mode == "authenticate" or payment.status == PaymentStatus.REQUIRES_ACTION,
        "back_url": _back_url(payment),
        "error": error,
        "stripe_texts": {"network": _("The payment service did not answer. Check your "
                                      "connection and try again.")},
        "stripe_config": {
            "publishableKey": settings.STRIPE_PUBLISHABLE_KEY,
            "locale": STRIPE_LOCALES.get(get_language() or "", "auto"),
            "amount": payment.amount_minor,
            "currency": payment.currency.lower(),
            "saveMethod": payment.save_method,
            "confirmUrl": reverse("stripe:confirm", kwargs={"payment_id": payment.public_id}),
            "returnUrl": reverse("stripe:return", kwargs={"payment_id": payment.public_id}),
            "clientSecret": state.client_secret,
            "paymentMethod": state.payment_method if mode == "authenticate" else "",
        },
    }


def _refreshed(payment: Payment) -> tuple[PayState, str]:
    try:
        return stripe_pay_refresh(payment=payment, now=utcnow()), ""
    except GatewayError as error:
        logger.warning("stripe: could not ask about %s: %s", payment.public_id, error.detail)
        return PayState(payment=payment), str(error.message)


@stripe_js_allowed
@login_required
@require_GET
def pay_page(request, payment_id):
    payment = _payment_or_404(request, payment_id)
    if payment.off_session:
        return HttpResponseRedirect(reverse("stripe:authenticate",
                                            kwargs={"payment_id": payment.public_id}))
    state, error = PayState(payment=payment), ""
    if payment.status == PaymentStatus.REQUIRES_ACTION:
        state, error = _refreshed(payment)  # Stripe.js needs the client secret
    return render(request, "stripe/pay.html", _context(request, state, mode="pay", error=error))


@login_required
@require_POST
def pay_confirm(request, payment_id):
    """The page's script sends the PaymentMethod; the answer says what to do next."""
    payment = _payment_or_404(request, payment_id)
    if payment.off_session:
        return JsonResponse({"status": "error", "message": _("This payment was not made "
                                                             "on this page.")}, status=409)
    try:
        state = stripe_pay_confirm(payment=payment,
                                   payment_method_id=request.POST.get("payment_method", "")[:250],
                                   now=utcnow())
    except GatewayError as error:
        logger.warning("stripe: confirming %s failed: %s", payment.public_id, error.detail)
        return JsonResponse({"status": "error", "message": str(error.message)}, status=502)
    except ServiceError as error:
        return JsonResponse({"status": "error", "message": str(error.message)}, status=400)
    return JsonResponse(_answer(state))


def _answer(state: PayState) -> dict:
    payment = state.payment
    if payment.status == PaymentStatus.REQUIRES_ACTION and state.client_secret:
        return {"status": "requires_action", "clientSecret": state.client_secret}
    if payment.status in FINISHED:
        # The order page (the payment's return address) shows the outcome and, after a
        # decline, lets the customer try again: one payment is one attempt.
        return {"status": payment.status, "redirect": _finished_url(payment)}
    return {"status": "pending",
            "redirect": reverse("stripe:return", kwargs={"payment_id": payment.public_id})}


@login_required
@require_GET
def pay_return(request, payment_id):
    """Back from 3-D Secure (Stripe.js or Stripe's redirect): ask Stripe, then go on.

    Stripe adds ``payment_intent`` and its client secret to this address; they are
    not read: the payment's own intent is asked about.
    """
    payment = _payment_or_404(request, payment_id)
    state, error = _refreshed(payment)
    payment = state.payment
    if payment.status in FINISHED and payment.return_url:
        return HttpResponseRedirect(payment.return_url)
    page = "authenticate" if payment.off_session else "pay"
    return render(request, "stripe/pay.html", _context(request, state, mode=page, error=error))


@stripe_js_allowed
@login_required
@require_GET
def authenticate_page(request, payment_id):
    """Where a customer whose bank asked to confirm a renewal charge does it (e-mailed link)."""
    payment = _payment_or_404(request, payment_id)
    if not payment.off_session:
        return HttpResponseRedirect(reverse("stripe:pay",
                                            kwargs={"payment_id": payment.public_id}))
    state, error = _refreshed(payment)
    return render(request, "stripe/pay.html",
                  _context(request, state, mode="authenticate", error=error))
