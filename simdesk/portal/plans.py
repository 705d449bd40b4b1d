"""The plans pages: browse what is on sale (filters and currency in the query
string, so they work without JavaScript and can be bookmarked) and read one
plan's terms in plain words.
"""

from dataclasses import dataclass

from babel import UnknownLocaleError
from babel.lists import format_list
from django import forms
from django.conf import settings
from django.http import Http404, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, to_locale

from simdesk.catalog.countries import country_name
from simdesk.catalog.models import Plan, PlanKind
from simdesk.catalog.selectors import (
    covered_countries,
    plan_get_active,
    plan_terms,
    plans_list,
    regions_with_plans,
)
from simdesk.core.errors import NotFound
from simdesk.core.money import Money, currency_exponent
from simdesk.core.units import format_bytes, parse_bytes

MIN_DATA_CHOICES = ["500MB", "1GB", "3GB", "5GB", "10GB", "20GB"]
MAX_DAYS = 365


def default_currency(request) -> str:
    """The signed-in customer's preferred currency, else the site's default."""
    user = request.user
    if user.is_authenticated and user.currency in settings.CURRENCIES:
        return user.currency
    return settings.DEFAULT_CURRENCY


def _currency_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label=gettext_lazy("Currency"), required=False,
        choices=[(code, code) for code in settings.CURRENCIES],
        error_messages={"invalid_choice": gettext_lazy(
            "We do not sell in “%(value)s”. Pick a currency from the list.")},
    )


class CurrencyForm(forms.Form):
    currency = _currency_field()


class PlanFilterForm(forms.Form):
    country = forms.ChoiceField(
        label=gettext_lazy("Country"), required=False,
        error_messages={"invalid_choice": gettext_lazy(
            "We have no plans for “%(value)s”. Pick a country from the list.")},
    )
    region = forms.ChoiceField(
        label=gettext_lazy("Region"), required=False,
        error_messages={"invalid_choice": gettext_lazy(
            "We have no plans for the region “%(value)s”. Pick one from the list.")},
    )
    min_data = forms.ChoiceField(
        label=gettext_lazy("Minimum data"), required=False,
        error_messages={"invalid_choice": gettext_lazy(
            "“%(value)s” is not one of the data amounts offered. Pick one from the list.")},
    )
    max_days = forms.IntegerField(
        label=gettext_lazy("Maximum days"), required=False, min_value=1, max_value=MAX_DAYS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "placeholder": "30"}),
    )
    max_price = forms.DecimalField(
        label=gettext_lazy("Maximum price"), required=False, min_value=0,
        max_digits=12, decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Type"), required=False,
        choices=[("", gettext_lazy("Plans and top-ups")),
                 (PlanKind.BASE, gettext_lazy("Plans only")),
                 (PlanKind.TOPUP, gettext_lazy("Top-ups only"))],
    )
    currency = _currency_field()

    def __init__(self, data: QueryDict, *, currency: str, language: str):
        data = data.copy()
        if not data.get("currency"):
            data["currency"] = currency
        super().__init__(data)
        self.default_currency = currency
        self.fields["country"].choices = [("", _("Any country"))] + sorted(
            ((code, country_name(code, language)) for code in covered_countries()),
            key=lambda pair: pair[1],
        )
        self.fields["region"].choices = [("", _("Any region"))] + [
            (region.code, region.name_for(language)) for region in regions_with_plans()
        ]
        self.fields["min_data"].choices = [("", _("Any amount"))] + [
            (value, _("At least %(size)s") % {"size": format_bytes(parse_bytes(value),
                                                                    language)})
            for value in MIN_DATA_CHOICES
        ]

    def clean(self):
        cleaned = super().clean()
        currency = cleaned.get("currency") or self.default_currency
        cleaned["currency"] = currency
        max_price = cleaned.get("max_price")
        if max_price is not None:
            minor = max_price.scaleb(currency_exponent(currency))
            if minor != minor.to_integral_value():
                places = currency_exponent(currency)
                self.add_error("max_price", ngettext(
                    "Prices in %(currency)s have at most %(places)d decimal place.",
                    "Prices in %(currency)s have at most %(places)d decimal places.",
                    places,
                ) % {"currency": currency, "places": places})
            else:
                cleaned["max_price_minor"] = int(minor)
        return cleaned

    def filters(self) -> dict:
        """What ``plans_list`` gets: only the fields that are valid (the others are shown
        with their error and left out, so the page still lists plans)."""
        data = getattr(self, "cleaned_data", {})
        min_data = data.get("min_data")
        return {
            "currency": data.get("currency") or self.default_currency,
            "country": data.get("country") or None,
            "region": data.get("region") or None,
            "min_data_bytes": parse_bytes(min_data) if min_data else None,
            "max_days": data.get("max_days"),
            "max_price_minor": data.get("max_price_minor"),
            "kind": data.get("kind") or None,
        }


@dataclass(frozen=True)
class PlanCard:
    """A plan as shown to a customer in one language and currency."""

    plan: Plan
    name: str
    description: str
    data: str
    days: int
    coverage: str
    price: Money | None
    url: str

    @property
    def is_topup(self) -> bool:
        return self.plan.kind == PlanKind.TOPUP


def coverage_label(plan: Plan, language: str) -> str:
    """"Europe", "Europe + Switzerland", "Japan", "China, Hong Kong, Macao", or "12 countries"."""
    own = sorted(country_name(code, language) for code in plan.own_country_codes())
    if plan.region is not None:
        region_name = plan.region.name_for(language)
        return " + ".join([region_name, *own]) if len(own) <= 2 else ngettext(
            "%(region)s + %(count)d country", "%(region)s + %(count)d countries", len(own)
        ) % {"region": region_name, "count": len(own)}
    if len(own) <= 3:
        return _format_list(own, language)
    return ngettext("%(count)d country", "%(count)d countries", len(own)) % {"count": len(own)}


def _format_list(items: list[str], language: str) -> str:
    """"A, B and C" with the language's own separators ("A、B和C" in Chinese)."""
    try:
        return format_list(items, locale=to_locale(language))
    except (ValueError, UnknownLocaleError):
        return format_list(items, locale="en")


def data_label(plan: Plan, language: str) -> str:
    return _("Unlimited") if plan.is_unlimited else format_bytes(plan.data_bytes, language)


def _card(plan: Plan, *, language: str, currency: str) -> PlanCard:
    return PlanCard(
        plan=plan,
        name=plan.name_for(language),
        description=plan.description_for(language),
        data=data_label(plan, language),
        days=plan.validity_days,
        coverage=coverage_label(plan, language),
        price=plan.price_in(currency),
        url=reverse("portal:plan_detail", args=[plan.code]) + "?" + urlencode(
            {"currency": currency}),
    )


def plan_list(request):
    language = request.LANGUAGE_CODE
    form = PlanFilterForm(request.GET, currency=default_currency(request), language=language)
    form.is_valid()  # errors are shown beside their fields; valid filters still apply
    filters = form.filters()
    currency = filters["currency"]
    cards = [_card(plan, language=language, currency=currency)
             for plan in plans_list(**filters)]
    filtered = any(value is not None for key, value in filters.items() if key != "currency")
    currency_links = []
    for code in settings.CURRENCIES:
        query = request.GET.copy()
        query["currency"] = code
        currency_links.append((code, "?" + query.urlencode()))
    return render(request, "portal/plans/list.html", {
        "form": form,
        "cards": [card for card in cards if not card.is_topup],
        "topups": [card for card in cards if card.is_topup],
        "count": len(cards),
        "currency": currency,
        "filtered": filtered,
        "currency_links": currency_links,
    })


def plan_detail(request, code: str):
    language = request.LANGUAGE_CODE
    try:
        plan = plan_get_active(code=code)
    except NotFound as error:
        raise Http404(str(error)) from error
    default = default_currency(request)
    form = CurrencyForm({"currency": request.GET.get("currency") or default})
    currency = form.cleaned_data["currency"] if form.is_valid() else default
    card = _card(plan, language=language, currency=currency)
    other_prices = [
        (price.money, reverse("portal:plan_detail", args=[plan.code]) + "?" + urlencode(
            {"currency": price.currency}))
        for price in plan.prices.all()
        if price.currency != currency and price.currency in settings.CURRENCIES
    ]
    return render(request, "portal/plans/detail.html", {
        "card": card,
        "plan": plan,
        "form": form,
        "currency": currency,
        "terms": plan_terms(plan=plan, language=language),
        "countries": sorted(country_name(code, language) for code in plan.coverage()),
        "other_prices": other_prices,
        "list_url": reverse("portal:plans") + "?" + urlencode({"currency": currency}),
    })
