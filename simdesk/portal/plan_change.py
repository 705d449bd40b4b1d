"""Changing a card's plan: choose the plan and when, see what happens (the refund of the
current plan for "now"), confirm.

"Now" opens a paid order for the new plan (the checkout page shows the exact refund
quoted on it, before the customer pays); "at the end of the period" changes what
auto-renewal buys next. Views stay thin: the rules live in
``simdesk.orders.services.plan_change`` and ``simdesk.renewals.services.plan_change``.
"""

import uuid

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from simdesk.cards.models import Card, Period, PeriodState
from simdesk.cards.selectors import card_get_for_customer
from simdesk.catalog.models import Plan, PlanKind
from simdesk.core.errors import NotFound, ServiceError
from simdesk.core.money import Money
from simdesk.orders.services import plan_change_order_create, plan_change_preview
from simdesk.renewals.selectors import renewable_plans, renewal_settings_of
from simdesk.renewals.services.plan_change import renewal_plan_change

from .plans import default_currency

NOW, AT_PERIOD_END = "now", "at_period_end"


class PlanChangeForm(forms.Form):
    plan = forms.ChoiceField(label=gettext_lazy("New plan"), error_messages={
        "required": gettext_lazy("Choose the new plan."),
        "invalid_choice": gettext_lazy("This plan is not on sale. Choose one from the list.")})
    when = forms.ChoiceField(
        label=gettext_lazy("When"), widget=forms.RadioSelect, initial=NOW,
        choices=[(NOW, gettext_lazy("Now: the new plan starts at once, and the unused part "
                                    "of the current plan is refunded")),
                 (AT_PERIOD_END, gettext_lazy("At the end of the current plan: auto-renewal "
                                              "buys the new plan next"))],
        error_messages={"required": gettext_lazy("Choose when the change happens."),
                        "invalid_choice": gettext_lazy("Choose “now” or “at the end of the "
                                                       "current plan”.")})
    currency = forms.ChoiceField(
        label=gettext_lazy("Currency"), choices=[(c, c) for c in settings.CURRENCIES],
        error_messages={"invalid_choice": gettext_lazy(
            "We do not sell in “%(value)s”. Pick a currency from the list.")})

    def __init__(self, *args, plans: list[Plan], currency: str, language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.plans = {plan.code: plan for plan in plans}
        choices = []
        for plan in plans:
            price = plan.price_in(currency)
            label = plan.name_for(language)
            choices.append((plan.code, f"{label} — {price.format(language)}" if price else label))
        self.fields["plan"].choices = [("", _("Choose a plan"))] + choices
        self.fields["currency"].initial = currency


class ConfirmForm(forms.Form):
    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)


def _card_or_404(request, public_id) -> Card:
    try:
        return card_get_for_customer(customer=request.user, card_public_id=public_id)
    except NotFound as error:
        raise Http404(str(error)) from error


def _plans() -> list[Plan]:
    return list(Plan.objects.active().filter(kind=PlanKind.BASE).with_display_data()
                .order_by("code"))


def _current_period(card: Card) -> Period | None:
    """The plan in use a change "now" replaces (the service refuses if it is not alone)."""
    return (card.periods.filter(state=PeriodState.ACTIVE).select_related("card")
            .order_by("ends_at", "id").first())


def _form(request, card: Card, data=None) -> PlanChangeForm:
    currency = default_currency(request)
    if data is not None and data.get("currency") in settings.CURRENCIES:
        currency = data["currency"]
    return PlanChangeForm(data, plans=_plans(), currency=currency,
                          language=translation.get_language() or "en")


def _choose(request, card: Card, form: PlanChangeForm, *, status: int = 200):
    current = _current_period(card)
    return render(request, "portal/plan_change/choose.html", {
        "card": card, "form": form, "tail": card.iccid[-4:],
        "current_name": current.name_for(translation.get_language()) if current else "",
    }, status=status)


@login_required
def card_plan_change(request, public_id):
    """Choose the new plan and when (a plain GET form to the confirmation page)."""
    card = _card_or_404(request, public_id)
    return _choose(request, card, _form(request, card))


@login_required
def card_plan_change_confirm(request, public_id):
    """GET: what the change will do (with the refund for "now"); POST: do it."""
    card = _card_or_404(request, public_id)
    data = request.POST if request.method == "POST" else request.GET
    form = _form(request, card, data)
    if not form.is_valid():
        return _choose(request, card, form, status=400)
    plan = form.plans[form.cleaned_data["plan"]]
    when, currency = form.cleaned_data["when"], form.cleaned_data["currency"]
    now = timezone.now()
    language = translation.get_language() or "en"
    current = _current_period(card)
    context = {"card": card, "form": form, "plan": plan, "when": when, "currency": currency,
               "tail": card.iccid[-4:], "plan_name": plan.name_for(language),
               "price": plan.price_in(currency),
               "current_name": current.name_for(language) if current else "",
               "settings": renewal_settings_of(card=card),
               "queued": card.periods.filter(state=PeriodState.QUEUED).exists()}
    try:
        if request.method == "POST":
            confirm = ConfirmForm(request.POST)
            if not confirm.is_valid():
                raise ServiceError(_("This form is out of date. Reload the page and try "
                                     "again."), code="idempotency_key_missing")
            return _apply(request, card, current, plan, when, currency,
                          confirm.cleaned_data["idempotency_key"], now, language)
        if context["price"] is None:
            raise ServiceError(_("This plan is not sold in %(currency)s. Choose another "
                                 "currency.") % {"currency": currency}, code="no_price")
        if when == NOW:
            if current is None:
                raise ServiceError(_("This card has no plan in use to change now. Buy a plan "
                                     "instead."), code="no_current_period")
            refund = plan_change_preview(customer=request.user, period=current, plan=plan,
                                         now=now)
            context["refund"] = Money(refund, current.order.currency) if refund else None
        elif not renewable_plans().filter(pk=plan.pk).exists():
            raise ServiceError(_("Auto-renewal cannot buy this plan. Choose another plan, or "
                                 "change now."), code="plan_not_renewable")
    except NotFound as error:
        raise Http404(str(error)) from error
    except ServiceError as error:
        context["problem"] = error.message
        return render(request, "portal/plan_change/confirm.html", context, status=400)
    context["confirm_form"] = ConfirmForm(initial={"idempotency_key": uuid.uuid4().hex})
    return render(request, "portal/plan_change/confirm.html", context)


def _apply(request, card, current, plan, when, currency, key, now, language):
    if when == AT_PERIOD_END:
        rs = renewal_plan_change(card=card, customer=request.user, plan=plan, currency=currency,
                                 now=now)
        if rs.enabled:
            messages.success(request, _("Done: auto-renewal will buy %(plan)s when the current "
                                        "plan ends.") % {"plan": plan.name_for(language)})
        else:
            messages.success(request, _("Saved: %(plan)s is the plan auto-renewal will buy. "
                                        "Auto-renewal is off for this card; switch it on to "
                                        "buy it automatically.")
                             % {"plan": plan.name_for(language)})
        return redirect("portal:card_detail", public_id=card.public_id)
    if current is None:
        raise ServiceError(_("This card has no plan in use to change now. Buy a plan "
                             "instead."), code="no_current_period")
    order = plan_change_order_create(customer=request.user, period=current, plan=plan,
                                     currency=currency, idempotency_key=key, now=now,
                                     language=request.LANGUAGE_CODE)
    return redirect("portal:checkout", public_id=order.public_id)
