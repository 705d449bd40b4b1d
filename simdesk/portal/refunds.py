"""Asking for a refund of a period: the card's plans with what a refund would do, one
period's page to confirm, and the request itself.

Views stay thin: ownership comes from ``period_get_for_customer``, amounts from
``period_refund_quote``, the request from ``refund_request_create`` (which refunds at
once or hands the request to staff, and never refunds a period twice).
"""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from simdesk.cards.models import Card, Period
from simdesk.cards.selectors import card_get_for_customer
from simdesk.core.errors import NotFound, ServiceError
from simdesk.orders.models import RefundRequest, RefundRequestStatus
from simdesk.orders.refunds import RefundQuote, period_refund_quote, refund_window
from simdesk.orders.selectors import card_periods_for_refund, period_get_for_customer
from simdesk.orders.services import refund_request_create
from simdesk.orders.services.refund_requests import MAX_REASON_LENGTH


class RefundForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why do you want a refund? (optional)"), required=False,
        max_length=MAX_REASON_LENGTH, widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": gettext_lazy(
            "Please keep the reason under %(limit_value)d characters.")})


@dataclass
class PeriodRefund:
    """One period as the refund pages show it."""

    period: Period
    name: str
    quote: RefundQuote | None
    problem: str
    request: RefundRequest | None


def _describe(period: Period, now) -> PeriodRefund:
    request = RefundRequest.objects.filter(period=period).first()
    quote, problem = None, ""
    if request is None:
        try:
            quote = period_refund_quote(period=period, now=now)
        except ServiceError as error:
            problem = str(error.message)
    return PeriodRefund(period=period, name=period.name_for(translation.get_language()),
                        quote=quote, problem=problem, request=request)


def _card_or_404(request, public_id) -> Card:
    try:
        return card_get_for_customer(customer=request.user, card_public_id=public_id)
    except NotFound as error:
        raise Http404(str(error)) from error


@login_required
def card_refund(request, public_id):
    """The card's plans that could be refunded, each with what a refund would do."""
    card = _card_or_404(request, public_id)
    now = timezone.now()
    return render(request, "portal/refunds/card.html", {
        "card": card, "tail": card.iccid[-4:],
        "rows": [_describe(period, now) for period in card_periods_for_refund(card=card)],
        "window_days": refund_window().days,
    })


@login_required
def period_refund(request, public_id, period_public_id):
    """GET: what asking for a refund of this plan will do; POST: ask."""
    try:
        period = period_get_for_customer(customer=request.user, card_public_id=public_id,
                                         period_public_id=period_public_id)
    except NotFound as error:
        raise Http404(str(error)) from error
    status = 200
    form = RefundForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            try:
                rr = refund_request_create(customer=request.user, period=period,
                                           reason=form.cleaned_data["reason"],
                                           now=timezone.now())
            except NotFound as error:
                raise Http404(str(error)) from error
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                _tell(request, rr)
                return redirect("portal:card_detail", public_id=period.card.public_id)
        status = 400
    return render(request, "portal/refunds/period.html", {
        "card": period.card, "tail": period.card.iccid[-4:],
        "row": _describe(period, timezone.now()),
        "form": form, "window_days": refund_window().days,
    }, status=status)


def _tell(request, rr: RefundRequest) -> None:
    if rr.status == RefundRequestStatus.REFUNDED:
        messages.success(request, _("We refunded %(amount)s to the payment method you paid "
                                    "with. That plan has ended.") % {"amount": rr.amount})
    elif rr.status == RefundRequestStatus.PENDING:
        messages.success(request, _("Your request was sent to our staff. We will e-mail you "
                                    "their decision."))
    elif rr.status == RefundRequestStatus.REJECTED:
        messages.info(request, _("This refund was already asked for and declined."))
    else:
        messages.info(request, _("This refund is being processed."))
