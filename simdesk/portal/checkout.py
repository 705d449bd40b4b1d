"""Checkout: "Buy" on a plan page opens an order, the review page prices it (coupon
included), and "Pay" hands the customer to the gateway's page.

The Buy form carries a key made when the plan page rendered: it is the order's
idempotency key, so a double click or a resubmit after "back" finds the same order.
The pay form needs none of its own: the order numbers its payment attempts and a
submit while an attempt is open resumes that attempt (the payment's idempotency key
is ``order:<id>:<attempt>``), so it never charges twice either. Views stay thin: the rules live in
``simdesk.orders.services``.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from simdesk.cards.selectors import card_get_for_customer
from simdesk.catalog.models import Plan, PlanStatus
from simdesk.catalog.selectors import plan_terms
from simdesk.core.errors import Conflict, NotFound, ServiceError
from simdesk.orders.models import OrderStatus
from simdesk.orders.selectors import order_get_for_customer
from simdesk.orders.services import order_apply_coupon, order_create, order_pay
from simdesk.payments.gateways import enabled_gateways

NEW_ESIM = "new"


class BuyForm(forms.Form):
    plan = forms.SlugField()
    card = forms.CharField(max_length=40)
    currency = forms.ChoiceField(choices=[(c, c) for c in settings.CURRENCIES])
    idempotency_key = forms.CharField(max_length=100)


class CouponForm(forms.Form):
    coupon_code = forms.CharField(
        label=gettext_lazy("Coupon code"), max_length=64, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                      "spellcheck": "false"}),
    )


class PayForm(forms.Form):
    """How to pay: the enabled gateways that take the order's currency, and whether to keep
    the method for auto-renewal.

    The box is offered only if some enabled gateway can keep methods; when only some
    can, its help text names them (the page works without JavaScript, so the box cannot
    hide itself), and ticking it with another gateway is refused with a message.
    """

    gateway = forms.ChoiceField(label=gettext_lazy("Pay with"), widget=forms.RadioSelect)
    save_method = forms.BooleanField(
        label=gettext_lazy("Remember this payment method for auto-renewal"), required=False,
        help_text=gettext_lazy("Nothing is charged automatically until you turn auto-renewal "
                               "on for a card."),
    )

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.gateways = {g.name: g for g in enabled_gateways() if g.supports_currency(currency)}
        choices = [(name, _gateway_label(g)) for name, g in self.gateways.items()]
        self.fields["gateway"].choices = choices
        if choices:
            self.fields["gateway"].initial = choices[0][0]
        savers = [_gateway_label(g) for g in self.gateways.values() if g.supports_saved_methods]
        if not savers:
            del self.fields["save_method"]
        elif len(savers) < len(choices):
            self.fields["save_method"].help_text = _(
                "Only %(methods)s can be remembered. Nothing is charged automatically until "
                "you turn auto-renewal on for a card.") % {"methods": ", ".join(savers)}

    def clean(self):
        data = super().clean()
        gateway = self.gateways.get(data.get("gateway") or "")
        if data.get("save_method") and gateway is not None \
                and not gateway.supports_saved_methods:
            self.add_error("save_method", _(
                "%(method)s cannot be remembered for auto-renewal. Untick this box, or "
                "choose a method that can be.") % {"method": _gateway_label(gateway)})
        data.setdefault("save_method", False)
        return data


def _gateway_label(gateway) -> str:
    label = getattr(gateway, "label", None) or getattr(gateway, "display_name", None)
    if label:
        return str(label)
    return _("Test payment (sandbox)") if gateway.name == "sandbox" else gateway.name.title()


def _order_or_404(request, public_id):
    try:
        return order_get_for_customer(customer=request.user, order_public_id=public_id)
    except NotFound as error:
        raise Http404(str(error)) from error


@login_required
@require_POST
def checkout_start(request):
    """The plan page's Buy form: open the order (or find the one this form already opened)."""
    form = BuyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("This checkout form is incomplete or out of date. Reload "
                                  "the page and try again."))
        return redirect("portal:plans")
    data = form.cleaned_data
    plan = Plan.objects.with_display_data().filter(code=data["plan"]).first()
    if plan is None:
        raise Http404(_("There is no plan “%(code)s” on sale.") % {"code": data["plan"]})
    card = None
    try:
        if data["card"] != NEW_ESIM:
            card = card_get_for_customer(customer=request.user, card_public_id=data["card"])
        order = order_create(
            customer=request.user, card=card, plan=plan, currency=data["currency"],
            coupon_code="", idempotency_key=data["idempotency_key"], now=timezone.now(),
            language=request.LANGUAGE_CODE,
        )
    except NotFound as error:
        raise Http404(str(error)) from error
    except Conflict as error:
        return render(request, "portal/checkout/problem.html",
                      {"message": error.message, "plan": plan}, status=409)
    except ServiceError as error:
        messages.error(request, error.message)
        if plan.status == PlanStatus.ACTIVE:
            return redirect(reverse("portal:plan_detail", args=[plan.code])
                            + f"?currency={data['currency']}")
        return redirect("portal:plans")
    return redirect("portal:checkout", public_id=order.public_id)


def _review_context(request, order, *, coupon_form=None, pay_form=None) -> dict:
    failure = ""
    if order.status == OrderStatus.PAYMENT_FAILED:
        failure = order.payment.failure_reason if order.payment else order.failure_message
    return {
        "order": order,
        "plan": order.plan,
        "terms": plan_terms(plan=order.plan, language=request.LANGUAGE_CODE),
        "plan_name": order.plan.name_for(request.LANGUAGE_CODE),
        "coupon_form": coupon_form or CouponForm(initial={"coupon_code": order.coupon_code}),
        "pay_form": pay_form or PayForm(currency=order.currency),
        "failure": failure,
    }


@login_required
def checkout_review(request, public_id):
    order = _order_or_404(request, public_id)
    if not order.is_payable:
        return redirect("portal:order_detail", public_id=order.public_id)
    return render(request, "portal/checkout/review.html", _review_context(request, order))


@login_required
@require_POST
def checkout_coupon(request, public_id):
    order = _order_or_404(request, public_id)
    if not order.is_payable:
        return redirect("portal:order_detail", public_id=order.public_id)
    form = CouponForm(request.POST)
    if form.is_valid():
        code = form.cleaned_data["coupon_code"]
        try:
            order = order_apply_coupon(order=order, coupon_code=code, now=timezone.now())
        except ServiceError as error:
            form.add_error("coupon_code", error.message)
        else:
            if code:
                messages.success(request, _("Coupon applied."))
            else:
                messages.info(request, _("Coupon removed."))
            return redirect("portal:checkout", public_id=order.public_id)
    return render(request, "portal/checkout/review.html",
                  _review_context(request, order, coupon_form=form), status=400)


@login_required
@require_POST
def checkout_pay(request, public_id):
    order = _order_or_404(request, public_id)
    if order.is_settled:
        return redirect("portal:order_detail", public_id=order.public_id)
    form = PayForm(request.POST, currency=order.currency)
    if not form.is_valid():
        return render(request, "portal/checkout/review.html",
                      _review_context(request, order, pay_form=form), status=400)
    return_url = request.build_absolute_uri(
        reverse("portal:order_detail", args=[order.public_id]))
    try:
        redirect_url = order_pay(order=order, gateway=form.cleaned_data["gateway"],
                                 return_url=return_url, now=timezone.now(),
                                 save_method=form.cleaned_data["save_method"])
    except Conflict:
        return redirect("portal:order_detail", public_id=order.public_id)
    except ServiceError as error:
        messages.error(request, error.message)
        if order.is_payable and order.expires_at > timezone.now():
            return redirect("portal:checkout", public_id=order.public_id)
        return redirect("portal:order_detail", public_id=order.public_id)
    return HttpResponseRedirect(redirect_url)
