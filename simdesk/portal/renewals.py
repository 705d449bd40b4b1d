"""A card's auto-renewal page, the one-click "turn off" link from the e-mails, and the
page a renewal charge's "confirm with your bank" e-mail links to.

Views stay thin: ownership comes from the renewals selectors, changes from
``renewal_settings_update`` / ``renewal_disable``.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from simdesk.core.errors import NotFound, ServiceError
from simdesk.renewals.selectors import (
    payment_methods_for,
    renewable_plans,
    renewal_authentication_for_customer,
    renewal_current_period,
    renewal_method_problem,
    renewal_settings_for_customer,
    renewal_waiting_payment,
)
from simdesk.renewals.services import renewal_disable, renewal_settings_update
from simdesk.renewals.services.common import renewal_currency
from simdesk.renewals.signing import renewal_off_card

from .plans import default_currency


class RenewalSettingsForm(forms.Form):
    enabled = forms.BooleanField(label=gettext_lazy("Renew this card automatically"),
                                 required=False)
    plan = forms.ChoiceField(label=gettext_lazy("Plan to buy"))
    trigger_before_expiry_hours = forms.IntegerField(
        label=gettext_lazy("Renew this many hours before the plan ends"), required=False,
        min_value=1, max_value=336,
        help_text=gettext_lazy("Leave empty to not renew before the end."))
    trigger_low_data_percent = forms.IntegerField(
        label=gettext_lazy("Renew when this percent of data is left"), required=False,
        min_value=1, max_value=99,
        help_text=gettext_lazy("Leave empty to not renew when data runs low."))
    payment_method = forms.ChoiceField(label=gettext_lazy("Pay with"), required=False)

    def __init__(self, *args, plans, methods, currency: str, language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.plans = {str(p.public_id): p for p in plans}
        self.methods = {str(m.public_id): m for m in methods}
        choices = []
        for plan in plans:
            price = plan.price_in(currency)
            if price is not None:
                choices.append((str(plan.public_id),
                                f"{plan.name_for(language)} — {price.format(language)}"))
        self.fields["plan"].choices = choices
        self.fields["payment_method"].choices = (
            [("", _("No saved payment method"))] if not methods else []
        ) + [(str(m.public_id), str(m)) for m in methods]


def _form(request, rs, data=None):
    currency = renewal_currency(rs=rs) if rs.currency else default_currency(request)
    language = translation.get_language() or "en"
    methods = list(payment_methods_for(customer=request.user))
    current = renewal_current_period(card=rs.card)
    plan = rs.plan or (current.plan if current else None)
    initial = {
        "enabled": rs.enabled,
        "plan": str(plan.public_id) if plan else "",
        "trigger_before_expiry_hours": rs.trigger_before_expiry_hours,
        "trigger_low_data_percent": rs.trigger_low_data_percent,
        "payment_method": str(rs.payment_method.public_id) if rs.payment_method
        else (str(methods[0].public_id) if methods else ""),
    }
    form = RenewalSettingsForm(data, initial=initial, plans=list(renewable_plans()),
                               methods=methods, currency=currency, language=language)
    return form, currency


@login_required
def renewal_settings(request, public_id):
    try:
        rs = renewal_settings_for_customer(customer=request.user, card_public_id=public_id)
    except NotFound as error:
        raise Http404(str(error)) from error
    status = 200
    if request.method == "POST":
        form, currency = _form(request, rs, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                renewal_settings_update(
                    card=rs.card, customer=request.user, enabled=data["enabled"],
                    plan=form.plans.get(data["plan"]), currency=currency,
                    trigger_before_expiry_hours=data["trigger_before_expiry_hours"],
                    trigger_low_data_percent=data["trigger_low_data_percent"],
                    payment_method=form.methods.get(data["payment_method"] or ""),
                    now=timezone.now())
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Your auto-renewal settings are saved."))
                return redirect("portal:card_detail", public_id=rs.card.public_id)
        status = 400
    else:
        form, currency = _form(request, rs)
    return render(request, "portal/renewals/settings.html",
                  {"form": form, "card": rs.card, "settings": rs,
                   "method_problem": renewal_method_problem(rs=rs),
                   "waiting_payment": renewal_waiting_payment(card=rs.card)}, status=status)


def renewal_off(request, token):
    """GET asks to confirm, POST switches auto-renewal off; no sign-in needed (the signed
    link is the proof). A tampered or expired link gets a 400 page saying what to do."""
    try:
        card = renewal_off_card(token=token)
    except ServiceError as error:
        return render(request, "portal/renewals/off_invalid.html",
                      {"message": error.message}, status=400)
    done = False
    if request.method == "POST":
        renewal_disable(card=card, reason="one-click link", now=timezone.now())
        done = True
    return render(request, "portal/renewals/off.html",
                  {"card": card, "done": done, "tail": card.iccid[-4:]})


@login_required
def renewal_authenticate(request, public_id):
    """What the bank asks the customer to confirm (plan, card, amount, saved method) and
    the way to the gateway's authentication page; after it, what became of the charge."""
    try:
        auth = renewal_authentication_for_customer(
            customer=request.user, payment_public_id=public_id, now=timezone.now(),
            language=translation.get_language() or "en")
    except NotFound as error:
        raise Http404(str(error)) from error
    return render(request, "portal/renewals/authenticate.html",
                  {"auth": auth, "card": auth.card,
                   "amount": auth.amount.format(translation.get_language())})
