"""The customer's cards: "My cards", one card's page, and adding a card by its claim code.

Views stay thin: ownership and balances come from the cards selectors, the claim
from ``card_claim``. ``CardSummary`` only turns a balance into what the pages show.
"""

from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from simdesk.cards.iccid import iccid_normalize, validate_iccid
from simdesk.cards.models import Card, CardState
from simdesk.cards.selectors import (
    CardBalance,
    card_balance,
    card_get_for_customer,
    card_usage_by_day,
    cards_for_customer,
)
from simdesk.cards.services import card_claim
from simdesk.core.errors import NotFound, RateLimited, ServiceError
from simdesk.radius.selectors import card_whereabouts

from .charts import usage_chart_svg
from .qr import activation_qr_svg, ios_install_url

ICCID_TAIL = 4  # digits people read off the card to tell their cards apart


@dataclass
class CardSummary:
    """One card as the portal shows it: its balance in the words and bars of the pages."""

    card: Card
    balance: CardBalance
    language: str

    @property
    def iccid_head(self) -> str:
        return self.card.iccid[:-ICCID_TAIL]

    @property
    def iccid_tail(self) -> str:
        return self.card.iccid[-ICCID_TAIL:]

    @property
    def title(self) -> str:
        return self.card.label or _("Card ending in %(digits)s") % {"digits": self.iccid_tail}

    @property
    def state_label(self) -> str:
        return CardState(self.card.state).label

    @property
    def plan_names(self) -> list[str]:
        return [period.name_for(self.language) for period in self.balance.active_periods]

    @property
    def limited(self) -> bool:
        return not self.balance.unlimited and self.balance.total_bytes > 0

    @property
    def left_percent(self) -> int:
        """Share of the limited data still left, for the bar (rounded down, 0–100)."""
        if not self.limited:
            return 0
        return max(0, min(100, self.balance.remaining_bytes * 100 // self.balance.total_bytes))

    @property
    def meter_tone(self) -> str:
        return "low" if self.limited and self.left_percent < 20 else ""

    @property
    def fair_use_bytes(self) -> int | None:
        caps = [p.fair_use_bytes for p in self.balance.active_periods
                if p.unlimited and p.fair_use_bytes]
        return max(caps) if caps else None

    @property
    def fair_use_used_bytes(self) -> int:
        return sum(p.used_bytes for p in self.balance.active_periods if p.unlimited)

    @property
    def fair_use_percent(self) -> int:
        """Share of the fair-use allowance already used (an unlimited card's bar)."""
        cap = self.fair_use_bytes
        if not cap:
            return 0
        return max(0, min(100, self.fair_use_used_bytes * 100 // cap))

    @property
    def first_use_days(self) -> int | None:
        """Days of validity an active period will get when its clock starts at first use."""
        waiting = [p.validity_days for p in self.balance.active_periods if p.ends_at is None]
        return max(waiting) if waiting else None

    @property
    def next_queued_name(self) -> str:
        queued = self.balance.next_queued
        return queued.name_for(self.language) if queued else ""

    @property
    def more_queued(self) -> int:
        return max(0, self.balance.queued_count - 1)


def _summary(card: Card, now: datetime) -> CardSummary:
    return CardSummary(card=card, balance=card_balance(card=card, now=now),
                       language=translation.get_language() or "en")


def plans_url() -> str:
    return reverse("portal:plans")


def customer_card_summaries(*, customer, now: datetime) -> list[CardSummary]:
    return [_summary(card, now)
            for card in cards_for_customer(customer=customer, with_balances=True)]


@login_required
def card_list(request):
    now = timezone.now()
    return render(request, "portal/cards/list.html", {
        "summaries": customer_card_summaries(customer=request.user, now=now),
        "now": now,
        "plans_url": plans_url(),
    })


@login_required
def card_detail(request, public_id):
    try:
        card = card_get_for_customer(customer=request.user, card_public_id=public_id)
    except NotFound as error:
        raise Http404(str(error)) from error
    now = timezone.now()
    summary = _summary(card, now)
    usage = card_usage_by_day(card=card, now=now, tz=timezone.get_current_timezone())
    activation = card.activation
    context = {
        "summary": summary,
        "now": now,
        "plans_url": plans_url(),
        "chart": usage_chart_svg(usage, chart_id="usage-chart",
                                 title=_("Data used per day, last 30 days")),
        "usage_total": sum(used for _day, used in usage),
        "whereabouts": card_whereabouts(card=card),
    }
    if activation is not None:
        payload = activation.qr_payload
        context.update({
            "lpa": payload,
            "qr": activation_qr_svg(payload, title=_("QR code to install this eSIM")),
            "ios_url": ios_install_url(payload),
            "confirmation_required": activation.confirmation_required,
        })
    return render(request, "portal/cards/detail.html", context)


class CardClaimForm(forms.Form):
    iccid = forms.CharField(
        label=gettext_lazy("ICCID"),
        max_length=40,
        help_text=gettext_lazy("The 19 or 20 digits printed on the SIM card or its holder, "
                               "starting with 89."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off",
                                      "autocapitalize": "off", "spellcheck": "false"}),
    )
    claim_code = forms.CharField(
        label=gettext_lazy("Claim code"),
        max_length=80,
        help_text=gettext_lazy("Printed next to the ICCID or sent with your eSIM. Spaces and "
                               "hyphens do not matter."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                      "spellcheck": "false"}),
    )

    def clean_iccid(self) -> str:
        # A malformed number is a typing mistake we can point at; whether a well-formed
        # one exists is never revealed (card_claim answers the same for all refusals).
        value = iccid_normalize(self.cleaned_data["iccid"])
        validate_iccid(value)
        return value


@login_required
def card_add(request):
    status = 200
    if request.method == "POST":
        form = CardClaimForm(request.POST)
        if form.is_valid():
            now = timezone.now()
            try:
                card = card_claim(customer=request.user, iccid=form.cleaned_data["iccid"],
                                  claim_code=form.cleaned_data["claim_code"], now=now,
                                  ip=request.META.get("REMOTE_ADDR"))
            except RateLimited as error:
                form.add_error(None, ValidationError(str(error), code=error.code))
                status = 429
            except ServiceError as error:
                form.add_error(None, ValidationError(str(error), code=error.code))
            else:
                digits = card.iccid[-ICCID_TAIL:]
                if card.claimed_at is not None and card.claimed_at < now:
                    messages.info(request, _("The card ending in %(digits)s is already in "
                                             "your account.") % {"digits": digits})
                else:
                    messages.success(request, _("The card ending in %(digits)s was added to "
                                                "your account.") % {"digits": digits})
                return redirect("portal:card_detail", public_id=card.public_id)
    else:
        form = CardClaimForm()
    return render(request, "portal/cards/add.html", {"form": form, "plans_url": plans_url()},
                  status=status)
