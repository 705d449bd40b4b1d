"""The back office: search, customer and card pages, the card actions, the audit log.

Views are thin: access through ``staff_view``, reads from ``backoffice.selectors``,
writes through ``backoffice.services`` (each a domain service plus its audit entry).
"""

import uuid
from datetime import datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from simdesk.accounts.roles import Perm, staff_roles
from simdesk.cards.models import Period
from simdesk.cards.selectors import card_ledger
from simdesk.core.audit import audit_entries
from simdesk.core.errors import ServiceError
from simdesk.core.units import parse_bytes
from simdesk.support.selectors import tickets_for_staff
from simdesk.usage.selectors import usage_references_explained

from . import selectors, services
from .access import staff_view

LEDGER_ROWS = 100


class KeyForm(forms.Form):
    """A one-time token per rendered form: sent twice, the action happens once."""

    key = forms.UUIDField(widget=forms.HiddenInput)


class ReasonForm(KeyForm):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200)


class AdjustForm(ReasonForm):
    period = forms.UUIDField(label=gettext_lazy("Period"))
    amount = forms.CharField(
        label=gettext_lazy("Data to add"), max_length=20,
        help_text=gettext_lazy("For example 500 MB or 1.5 GB; a minus sign takes data away."))

    def clean_amount(self) -> int:
        text = self.cleaned_data["amount"].strip()
        sign = -1 if text.startswith("-") else 1
        try:
            amount = sign * parse_bytes(text.lstrip("+-").strip())
        except ValueError:
            raise forms.ValidationError(_("Write an amount such as 500 MB or 1.5 GB."),
                                        code="invalid") from None
        if amount == 0:
            raise forms.ValidationError(_("Write an amount other than zero."), code="zero")
        return amount


class ExtendForm(ReasonForm):
    period = forms.UUIDField(label=gettext_lazy("Period"))
    days = forms.IntegerField(label=gettext_lazy("Days to add"), min_value=1, max_value=365)


def _key() -> str:
    return str(uuid.uuid4())


@staff_view(Perm.VIEW)
def home(request):
    query = request.GET.get("q", "")[:200]
    hits = selectors.staff_search(query=query) if query.strip() else []
    return render(request, "backoffice/home.html", {
        "query": query, "hits": hits, "searched": bool(query.strip()),
        "roles": sorted(staff_roles(request.user)),
    })


@staff_view(Perm.VIEW)
def customer_detail(request, public_id):
    customer = selectors.customer_get_for_staff(public_id=public_id)
    return render(request, "backoffice/customer.html", {
        "customer": customer,
        "cards": customer.cards.order_by("iccid"),
        "orders": selectors.customer_orders(customer=customer)[:100],
        "notifications": selectors.customer_notifications(customer=customer),
        "tickets": tickets_for_staff(customer=customer)[:50],
        "audit": selectors.audit_about(public_id=customer.public_id),
    })


def _ledger_rows(card) -> list[tuple]:
    """The card's latest ledger rows, each with what its usage reference names (None for
    other references): a few queries for the page, not one per row."""
    entries = list(card_ledger(card=card)[:LEDGER_ROWS])
    usage = usage_references_explained(card_id=card.pk,
                                       references=[e.reference for e in entries])
    return [(e, usage.get(e.reference)) for e in entries]


def _card_page(request, card, *, forms_with_errors=None):
    now = timezone.now()
    periods = list(card.periods.order_by("-created_at"))
    open_periods = [p for p in periods if p.state in ("active", "queued", "exhausted")]
    context = {
        "card": card, "periods": periods, "open_periods": open_periods, "now": now,
        "ledger": _ledger_rows(card),
        "sessions": card.radius_sessions.select_related("nas")[:20],
        "orders": card.orders.select_related("customer").order_by("-created_at")[:50],
        "network_actions": selectors.card_network_actions(card=card),
        "events": card.events.select_related("actor").order_by("-at", "-pk")[:50],
        "audit": selectors.audit_about(public_id=card.public_id),
        "state_form": ReasonForm(initial={"key": _key()}),
        "adjust_form": AdjustForm(initial={"key": _key()}),
        "extend_form": ExtendForm(initial={"key": _key()}),
        "resend_form": KeyForm(initial={"key": _key()}),
    }
    context.update(forms_with_errors or {})
    context["failed_forms"] = list((forms_with_errors or {}).values())
    status = 400 if forms_with_errors else 200
    return render(request, "backoffice/card.html", context, status=status)


@staff_view(Perm.VIEW)
def card_detail(request, public_id):
    return _card_page(request, selectors.card_get_for_staff(public_id=public_id))


def _act(request, card, action, *, form_name: str, form, done: str):
    """Run ``action(form.cleaned_data)`` and go back to the card page saying ``done``; on a
    refusal show the card page with the error."""
    if not form.is_valid():
        return _card_page(request, card, forms_with_errors={form_name: form})
    try:
        action(form.cleaned_data)
    except ServiceError as error:
        form.add_error(None, error.message)
        return _card_page(request, card, forms_with_errors={form_name: form})
    except IntegrityError:
        # The same form arrived twice at once: the other request did it.
        messages.info(request, _("That was already done."))
        return redirect("backoffice:card", card.public_id)
    messages.success(request, done)
    return redirect("backoffice:card", card.public_id)


def _period_of(card, public_id) -> Period:
    period = card.periods.filter(public_id=public_id).first()
    if period is None:
        raise ServiceError(_("That period is not on this card."), code="not_found")
    return period


@require_POST
@staff_view(Perm.CARD_STATE)
def card_suspend(request, public_id):
    card = selectors.card_get_for_staff(public_id=public_id)
    return _act(request, card, lambda data: services.staff_card_suspend(
        card=card, reason=data["reason"], acting_user=request.user, key=str(data["key"]),
        now=timezone.now()), form_name="state_form", form=ReasonForm(request.POST),
        done=_("The card is suspended."))


@require_POST
@staff_view(Perm.CARD_STATE)
def card_resume(request, public_id):
    card = selectors.card_get_for_staff(public_id=public_id)
    return _act(request, card, lambda data: services.staff_card_resume(
        card=card, reason=data["reason"], acting_user=request.user, key=str(data["key"]),
        now=timezone.now()), form_name="state_form", form=ReasonForm(request.POST),
        done=_("The suspension is lifted."))


@require_POST
@staff_view(Perm.ADJUST_BALANCE)
def card_adjust(request, public_id):
    card = selectors.card_get_for_staff(public_id=public_id)
    return _act(request, card, lambda data: services.staff_balance_adjust(
        period=_period_of(card, data["period"]), amount=data["amount"], reason=data["reason"],
        acting_user=request.user, key=str(data["key"]), now=timezone.now()),
        form_name="adjust_form", form=AdjustForm(request.POST),
        done=_("The balance is adjusted."))


@require_POST
@staff_view(Perm.EXTEND_VALIDITY)
def card_extend(request, public_id):
    card = selectors.card_get_for_staff(public_id=public_id)
    return _act(request, card, lambda data: services.staff_period_extend(
        period=_period_of(card, data["period"]), days=data["days"], reason=data["reason"],
        acting_user=request.user, key=str(data["key"]), now=timezone.now()),
        form_name="extend_form", form=ExtendForm(request.POST),
        done=_("The validity is extended."))


@require_POST
@staff_view(Perm.RESEND_ACTIVATION)
def card_resend_activation(request, public_id):
    card = selectors.card_get_for_staff(public_id=public_id)
    return _act(request, card, lambda data: services.staff_activation_resend(
        card=card, acting_user=request.user, key=str(data["key"]), now=timezone.now()),
        form_name="resend_form", form=KeyForm(request.POST),
        done=_("The activation details are sent again."))


class AuditFilter(forms.Form):
    who = forms.CharField(label=gettext_lazy("Who"), required=False, max_length=254)
    action = forms.CharField(label=gettext_lazy("Action"), required=False, max_length=60)
    target = forms.CharField(label=gettext_lazy("Object (id, ICCID or e-mail)"),
                             required=False, max_length=200)
    since = forms.DateField(label=gettext_lazy("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("To"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))


def _day_start(day, *, next_day=False) -> datetime:
    moment = timezone.make_aware(datetime.combine(day, time.min))
    return moment + timedelta(days=1) if next_day else moment


@staff_view(Perm.AUDIT)
def audit_log(request):
    form = AuditFilter(request.GET or None)
    entries = audit_entries()
    if form.is_valid():
        data = form.cleaned_data
        entries = audit_entries(
            actor_label=data["who"], action=data["action"], target_id=data["target"],
            since=_day_start(data["since"]) if data["since"] else None,
            until=_day_start(data["until"], next_day=True) if data["until"] else None)
    page = Paginator(entries.select_related("actor"), 50).get_page(request.GET.get("page"))
    return render(request, "backoffice/audit.html", {"form": form, "page": page})
