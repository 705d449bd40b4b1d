"""Refunds and payments in the back office.

- The refund queue: customers' pending refund requests with the pro-rata amount suggested;
  approve (that amount or another) or reject with a note to the customer.
- Refund an order from the customer's page: all of what is left, or part, with a reason.
- Payments: inbound webhook events by status (reprocess one that failed) and the recent
  answers of reconciliation (payments whose outcome was unknown, asked again).

Amounts are typed as decimals in the order's currency and turned into minor units exactly;
every action goes through ``backoffice.services`` (a domain service plus an audit entry).
"""

from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from simdesk.accounts.roles import Perm
from simdesk.core.errors import ServiceError
from simdesk.core.money import Money, currency_exponent
from simdesk.orders.models import Order, RefundRequest, RefundRequestStatus
from simdesk.orders.services import order_refundable_minor
from simdesk.payments.models import InboundWebhookEvent, PaymentStatusChange, WebhookStatus

from . import services
from .access import staff_view
from .editing import BIG, from_minor
from .views import KeyForm, _key

PER_PAGE = 50
REPROCESSABLE = (WebhookStatus.FAILED, WebhookStatus.RECEIVED)


def amount_to_minor(text: str, currency: str) -> int:
    """"12.50" USD → 1250, "600" JPY → 600, exactly; a refusal says what to write instead."""
    places = currency_exponent(currency)
    try:
        amount = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise forms.ValidationError(_("Write an amount such as %(example)s.")
                                    % {"example": from_minor(1250, currency)}) from None
    if not amount.is_finite():
        raise forms.ValidationError(_("Write an amount as a number."))
    if amount <= 0:
        raise forms.ValidationError(_("Write an amount above zero."))
    minor = amount.scaleb(places)
    if minor != minor.to_integral_value():
        if places == 0:
            raise forms.ValidationError(_("%(currency)s has no decimal places: write a whole "
                                          "amount.") % {"currency": currency})
        raise forms.ValidationError(_("%(currency)s has %(places)d decimal places: write at "
                                      "most that many.")
                                    % {"currency": currency, "places": places})
    if minor > BIG:
        raise forms.ValidationError(_("This amount is too large."))
    return int(minor)


class AmountForm(KeyForm):
    """An amount in ``currency``, cleaned to minor units as ``amount_minor``."""

    amount = forms.CharField(label=gettext_lazy("Amount"), max_length=30,
                             widget=forms.TextInput(attrs={"inputmode": "decimal",
                                                           "size": 10}))

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.fields["amount"].help_text = _("In %(currency)s, e.g. %(example)s.") % {
            "currency": currency, "example": from_minor(1250, currency)}

    def clean(self):
        data = super().clean()
        if data.get("amount"):
            try:
                data["amount_minor"] = amount_to_minor(data["amount"], self.currency)
            except forms.ValidationError as error:
                self.add_error("amount", error)
        return data


class ApproveForm(AmountForm):
    note = forms.CharField(label=gettext_lazy("Note (for the history)"), max_length=300,
                           required=False)


class RejectForm(KeyForm):
    note = forms.CharField(label=gettext_lazy("Note to the customer"), max_length=300,
                           widget=forms.Textarea(attrs={"rows": 2, "maxlength": 300}))


class OrderRefundForm(AmountForm):
    FULL, PARTIAL = "full", "partial"
    scope = forms.ChoiceField(label=gettext_lazy("Refund"), widget=forms.RadioSelect,
                              choices=[(FULL, gettext_lazy("All that is left")),
                                       (PARTIAL, gettext_lazy("Part of it: the amount below"))])
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200)

    def __init__(self, *args, refundable_minor: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.refundable_minor = refundable_minor
        self.fields["amount"].required = False

    def clean(self):
        data = super().clean()
        if data.get("scope") == self.FULL:
            # "All that is left": whatever is in the amount box is ignored.
            self.errors.pop("amount", None)
            data["amount_minor"] = self.refundable_minor
        elif (data.get("scope") == self.PARTIAL and "amount" not in self.errors
              and not (data.get("amount") or "").strip()):
            self.add_error("amount", _("Write the amount to refund."))
        return data


def _refused(form, error: ServiceError) -> None:
    form.add_error(None, error.message)


# --- The refund queue ---------------------------------------------------------------------

def _pending_requests():
    return (RefundRequest.objects.filter(status=RefundRequestStatus.PENDING)
            .select_related("customer", "period__card", "order__payment")
            .order_by("created_at", "id"))


def _queue_page(request, *, failed=None):
    """The queue; ``failed`` is (kind, request pk, form) for a refused action, shown with
    its errors in its row and at the top, answered with 400."""
    page = Paginator(_pending_requests(), PER_PAGE).get_page(request.GET.get("page"))
    rows = []
    for rr in page.object_list:
        mine = failed and failed[1] == rr.pk
        rows.append({
            "rr": rr,
            "left": Money(order_refundable_minor(rr.order), rr.currency),
            "approve_form": (failed[2] if mine and failed[0] == "approve"
                             else ApproveForm(currency=rr.currency, initial={
                                 "key": _key(),
                                 "amount": from_minor(int(rr.suggested_minor), rr.currency)})),
            "reject_form": (failed[2] if mine and failed[0] == "reject"
                            else RejectForm(initial={"key": _key()})),
        })
    return render(request, "backoffice/billing/refunds.html", {
        "page": page, "rows": rows, "failed_form": failed[2] if failed else None,
        "section": "refunds",
    }, status=400 if failed else 200)


def _request(public_id) -> RefundRequest:
    rr = (RefundRequest.objects.select_related("customer", "period__card", "order__payment")
          .filter(public_id=public_id).first())
    if rr is None:
        raise Http404
    return rr


@staff_view(Perm.REFUND)
def refund_queue(request):
    return _queue_page(request)


def _decide(request, rr, kind: str, form, action):
    if not form.is_valid():
        return _queue_page(request, failed=(kind, rr.pk, form))
    try:
        action(form.cleaned_data)
    except ServiceError as error:
        _refused(form, error)
        return _queue_page(request, failed=(kind, rr.pk, form))
    except IntegrityError:
        # The same form arrived twice at once: the other request did it.
        messages.info(request, _("That was already done."))
        return redirect("backoffice:refunds")
    return None


@require_POST
@staff_view(Perm.REFUND)
def refund_approve(request, public_id):
    rr = _request(public_id)
    refused = _decide(request, rr, "approve", ApproveForm(request.POST, currency=rr.currency),
                      lambda data: services.staff_refund_request_approve(
                          request=rr, amount_minor=data["amount_minor"],
                          note=data.get("note", ""), acting_user=request.user,
                          key=str(data["key"]), now=timezone.now()))
    if refused:
        return refused
    messages.success(request, _("Refunded %(amount)s to %(email)s.") % {
        "amount": Money(int(RefundRequest.objects.get(pk=rr.pk).amount_minor or 0),
                        rr.currency), "email": rr.customer.email})
    return redirect("backoffice:refunds")


@require_POST
@staff_view(Perm.REFUND)
def refund_reject(request, public_id):
    rr = _request(public_id)
    refused = _decide(request, rr, "reject", RejectForm(request.POST),
                      lambda data: services.staff_refund_request_reject(
                          request=rr, note=data["note"], acting_user=request.user,
                          key=str(data["key"]), now=timezone.now()))
    if refused:
        return refused
    messages.success(request, _("The request is rejected; %(email)s is told why.")
                     % {"email": rr.customer.email})
    return redirect("backoffice:refunds")


# --- Refund an order ------------------------------------------------------------------------

def _order(public_id) -> Order:
    order = (Order.objects.select_related("customer", "payment", "period", "card")
             .filter(public_id=public_id).first())
    if order is None:
        raise Http404
    return order


@require_http_methods(["GET", "POST"])
@staff_view(Perm.REFUND)
def order_refund(request, public_id):
    order = _order(public_id)
    refundable = order_refundable_minor(order)
    form = OrderRefundForm(request.POST if request.method == "POST" else None,
                           currency=order.currency, refundable_minor=refundable,
                           initial={"key": _key(), "scope": OrderRefundForm.FULL,
                                    "amount": from_minor(refundable, order.currency)})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.staff_order_refund(
                    order=order, amount_minor=data["amount_minor"], reason=data["reason"],
                    acting_user=request.user, key=str(data["key"]), now=timezone.now())
            except ServiceError as error:
                _refused(form, error)
            except IntegrityError:
                messages.info(request, _("That was already done."))
                return redirect("backoffice:customer", order.customer.public_id)
            else:
                messages.success(request, _("The refund is made; the customer gets an e-mail."))
                return redirect("backoffice:customer", order.customer.public_id)
        status = 400
    return render(request, "backoffice/billing/order_refund.html", {
        "order": order, "form": form, "refundable": Money(refundable, order.currency),
        "refunds": [(r, Money(int(r.amount_minor), order.currency))
                    for r in (order.payment.refunds.all() if order.payment_id else [])],
    }, status=status)


# --- Payments: webhooks and reconciliation --------------------------------------------------

@staff_view(Perm.PAYMENTS)
def payments_page(request):
    status = request.GET.get("status", "")
    if status not in WebhookStatus.values:
        status = ""
    events = InboundWebhookEvent.objects.all()
    if status:
        events = events.filter(status=status)
    page = Paginator(events.defer("payload"), PER_PAGE).get_page(request.GET.get("page"))
    reconciled = [(change, Money(int(change.payment.amount_minor), change.payment.currency))
                  for change in PaymentStatusChange.objects.filter(source="reconcile")
                  .select_related("payment__customer").order_by("-at", "-id")[:PER_PAGE]]
    return render(request, "backoffice/billing/payments.html", {
        "page": page, "status": status, "statuses": WebhookStatus.choices,
        "reprocessable": REPROCESSABLE, "reconciled": reconciled,
        "reprocess_key": _key, "section": "payments",
    })


@require_POST
@staff_view(Perm.PAYMENTS)
def webhook_reprocess(request, gateway, event_id):
    event = InboundWebhookEvent.objects.filter(gateway=gateway, event_id=event_id).first()
    if event is None:
        raise Http404
    form = KeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The form was incomplete: reload the page and try again."))
        return redirect("backoffice:payments")
    try:
        event = services.staff_webhook_reprocess(event=event, acting_user=request.user,
                                                 key=str(form.cleaned_data["key"]),
                                                 now=timezone.now())
    except ServiceError as error:
        messages.error(request, error.message)
    except IntegrityError:
        messages.info(request, _("That was already done."))
    else:
        if event.status == WebhookStatus.PROCESSED:
            messages.success(request, _("The event is processed."))
        else:
            messages.warning(request, _("Processing failed again: %(error)s")
                             % {"error": event.last_error[:300]})
    return redirect("backoffice:payments")
