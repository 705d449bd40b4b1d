"""The catalog in the back office: coupons and plans — list, create, edit, archive.

Nothing sold is ever deleted: an archived plan is no longer sold and an archived coupon
no longer works at checkout, while what customers bought keeps its own copy of the terms.
Writes go through ``backoffice.services`` (``catalog.services.plan_upsert`` and
``catalog.coupons.coupon_upsert`` with an audit entry of the fields changed); the model's
rules come back as errors on the form's fields.
"""

import contextlib
import re

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from simdesk.accounts.roles import Perm
from simdesk.catalog.models import (
    FALLBACK_LANGUAGE,
    Coupon,
    CouponKind,
    Plan,
    PlanKind,
    PlanStatus,
    Region,
    Stacking,
    ValidityStart,
)
from simdesk.core.errors import ServiceError
from simdesk.core.money import Money

from . import selectors, services
from .access import staff_view
from .editing import (
    DateTimeField,
    from_minor,
    language_slug,
    money_field,
    parse_size,
    show_service_error,
    size_text,
    to_minor,
)
from .views import KeyForm, _key

INT = 2**31 - 1
PER_PAGE = 50


def _meta(model, name):
    field = model._meta.get_field(name)
    return {"label": field.verbose_name, "help_text": field.help_text}


def _currencies(existing=()) -> list[str]:
    """The site's currencies, then any other one a plan or coupon already has."""
    return list(settings.CURRENCIES) + sorted(set(existing) - set(settings.CURRENCIES))


# --- Coupons ---------------------------------------------------------------------------------

class CouponForm(KeyForm):
    code = forms.CharField(max_length=40, **_meta(Coupon, "code"))
    description = forms.CharField(max_length=200, required=False,
                                  **_meta(Coupon, "description"))
    kind = forms.ChoiceField(choices=CouponKind.choices, **_meta(Coupon, "kind"))
    percent_off = forms.IntegerField(required=False, **_meta(Coupon, "percent_off"))
    valid_from = DateTimeField(required=False, **_meta(Coupon, "valid_from"))
    valid_until = DateTimeField(required=False, **_meta(Coupon, "valid_until"))
    max_redemptions = forms.IntegerField(required=False, **_meta(Coupon, "max_redemptions"))
    max_per_customer = forms.IntegerField(required=False, **_meta(Coupon, "max_per_customer"))
    plans = forms.ModelMultipleChoiceField(
        queryset=Plan.objects.order_by("code"), to_field_name="code", required=False,
        widget=forms.CheckboxSelectMultiple, **_meta(Coupon, "plans"))

    def __init__(self, *args, coupon: Coupon | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if coupon is not None:
            del self.fields["code"]  # uses and announcements refer to it
        self.currencies = _currencies(row.currency for row in coupon.amounts.all()) \
            if coupon is not None else _currencies()
        for currency in self.currencies:
            self.fields[f"amount_{currency}"] = money_field(
                currency, label=_("Amount off in %(currency)s") % {"currency": currency})
        self.fields[f"amount_{self.currencies[0]}"].help_text = _(
            "Fixed-amount coupons only: the amount off in each currency it is used with.")

    def clean(self):
        data = super().clean()
        amounts = {}
        for currency in self.currencies:
            value = data.get(f"amount_{currency}")
            if value is not None:
                try:
                    amounts[currency] = to_minor(value, currency)
                except forms.ValidationError as error:
                    self.add_error(f"amount_{currency}", error)
        self.amounts = amounts
        return data

    def terms(self) -> dict:
        data = self.cleaned_data
        return {"description": data["description"], "kind": data["kind"],
                "percent_off": data["percent_off"], "valid_from": data["valid_from"],
                "valid_until": data["valid_until"], "max_redemptions": data["max_redemptions"],
                "max_per_customer": data["max_per_customer"], "plans": list(data["plans"])}

    def field_for(self, name: str) -> str:
        if name == "amounts":
            return f"amount_{self.currencies[0]}"
        if name.startswith("amounts."):
            return f"amount_{name.split('.')[1]}"
        return name

    @staticmethod
    def initial_for(coupon: Coupon) -> dict:
        initial = {name: getattr(coupon, name) for name in (
            "description", "kind", "percent_off", "valid_from", "valid_until",
            "max_redemptions", "max_per_customer")}
        initial["plans"] = [plan.code for plan in coupon.plans.all()]
        for row in coupon.amounts.all():
            initial[f"amount_{row.currency}"] = from_minor(row.amount_minor, row.currency)
        return initial


def _coupon(public_id) -> Coupon:
    coupon = Coupon.objects.prefetch_related("amounts", "plans").filter(
        public_id=public_id).first()
    if coupon is None:
        raise Http404
    return coupon


@staff_view(Perm.COUPONS)
def coupon_list(request):
    show = request.GET.get("show", "active")
    coupons = Coupon.objects.prefetch_related("amounts", "plans").order_by("code")
    if show != "all":
        coupons = coupons.filter(active=show != "archived")
    page = Paginator(coupons, PER_PAGE).get_page(request.GET.get("page"))
    for coupon in page.object_list:
        coupon.amounts_off = [Money(row.amount_minor, row.currency)
                              for row in coupon.amounts.all()]
    return render(request, "backoffice/catalog/coupons.html", {
        "page": page, "show": show, "section": "coupons"})


def _coupon_page(request, form, *, coupon=None, status=200):
    return render(request, "backoffice/catalog/coupon_form.html", {
        "form": form, "coupon": coupon, "section": "coupons",
        "state_form": KeyForm(initial={"key": _key()}),
        "uses": coupon.redemptions.filter(status__in=("reserved", "confirmed")).count()
        if coupon else 0,
        "audit": selectors.audit_about(public_id=coupon.public_id) if coupon else None,
    }, status=status)


def _coupon_save(request, coupon):
    form = CouponForm(request.POST, coupon=coupon)
    if form.is_valid():
        try:
            saved = services.staff_coupon_save(
                coupon=coupon, code=form.cleaned_data.get("code", ""), terms=form.terms(),
                amounts=form.amounts, acting_user=request.user,
                key=str(form.cleaned_data["key"]), now=timezone.now())
        except ServiceError as error:
            show_service_error(form, error, form.field_for)
        except IntegrityError:  # the same form arrived twice at once
            messages.info(request, _("That was already done."))
            return redirect("backoffice:coupons")
        else:
            messages.success(request, _("The coupon is saved."))
            return redirect("backoffice:coupon_edit", saved.public_id)
    return _coupon_page(request, form, coupon=coupon, status=400)


@staff_view(Perm.COUPONS)
def coupon_new(request):
    if request.method == "POST":
        return _coupon_save(request, None)
    return _coupon_page(request, CouponForm(initial={"key": _key(), "max_per_customer": 1}))


@staff_view(Perm.COUPONS)
def coupon_edit(request, public_id):
    coupon = _coupon(public_id)
    if request.method == "POST":
        return _coupon_save(request, coupon)
    return _coupon_page(request, CouponForm(
        coupon=coupon, initial={"key": _key(), **CouponForm.initial_for(coupon)}),
        coupon=coupon)


def _coupon_set_active(request, public_id, *, active: bool):
    coupon = _coupon(public_id)
    form = KeyForm(request.POST)
    if not form.is_valid():
        page = CouponForm(coupon=coupon, initial={"key": _key(),
                                                  **CouponForm.initial_for(coupon)})
        page.add_error(None, _("The form was incomplete: try again."))
        return _coupon_page(request, page, coupon=coupon, status=400)
    # IntegrityError: the same form arrived twice at once and the other request did it.
    with contextlib.suppress(IntegrityError):
        services.staff_coupon_set_active(coupon=coupon, active=active, acting_user=request.user,
                                         key=str(form.cleaned_data["key"]), now=timezone.now())
    messages.success(request, _("The coupon works again.") if active
                     else _("The coupon is archived: it no longer works at checkout."))
    return redirect("backoffice:coupon_edit", coupon.public_id)


@require_POST
@staff_view(Perm.COUPONS)
def coupon_archive(request, public_id):
    return _coupon_set_active(request, public_id, active=False)


@require_POST
@staff_view(Perm.COUPONS)
def coupon_restore(request, public_id):
    return _coupon_set_active(request, public_id, active=True)


# --- Plans -----------------------------------------------------------------------------------

class PlanForm(KeyForm):
    code = forms.SlugField(max_length=64, **_meta(Plan, "code"))
    kind = forms.ChoiceField(choices=PlanKind.choices, **_meta(Plan, "kind"))
    data = forms.CharField(
        label=gettext_lazy("Data allowance"), max_length=30, required=False,
        help_text=gettext_lazy("For example 5 GB or 500 MB (1 GB = 1000 MB). Leave empty for "
                               "an unlimited plan."))
    fair_use = forms.CharField(
        label=gettext_lazy("Fair-use cap"), max_length=30, required=False,
        help_text=gettext_lazy("Unlimited plans only: full speed up to this much data, for "
                               "example 50 GB."))
    throttle_kbps = forms.IntegerField(required=False, min_value=1, max_value=INT,
                                       **_meta(Plan, "throttle_kbps"))
    validity_days = forms.IntegerField(min_value=1, max_value=3650,
                                       **_meta(Plan, "validity_days"))
    validity_start = forms.ChoiceField(choices=ValidityStart.choices,
                                       **_meta(Plan, "validity_start"))
    stacking = forms.ChoiceField(choices=Stacking.choices, **_meta(Plan, "stacking"))
    renewable = forms.BooleanField(required=False, **_meta(Plan, "renewable"))
    pausable = forms.BooleanField(required=False, **_meta(Plan, "pausable"))
    max_pause_days = forms.IntegerField(min_value=0, max_value=3650,
                                        **_meta(Plan, "max_pause_days"))
    region = forms.ModelChoiceField(queryset=Region.objects.order_by("code"),
                                    to_field_name="code", required=False,
                                    **_meta(Plan, "region"))
    countries = forms.CharField(
        label=gettext_lazy("Countries"), max_length=1000, required=False,
        help_text=gettext_lazy("ISO codes of countries covered beyond the region, separated "
                               "by commas: FR, DE, IT."))
    sort_order = forms.IntegerField(min_value=0, max_value=INT, **_meta(Plan, "sort_order"))

    def __init__(self, *args, plan: Plan | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if plan is not None:
            del self.fields["code"]  # orders, periods and the API refer to it
        for language, name in settings.LANGUAGES:
            slug = language_slug(language)
            english = language == FALLBACK_LANGUAGE
            self.fields[f"name_{slug}"] = forms.CharField(
                label=_("Name (%(language)s)") % {"language": name}, max_length=120,
                required=english,
                help_text=_("Required.") if english else _("Optional: customers who use this "
                                                           "language see the English name."))
            self.fields[f"description_{slug}"] = forms.CharField(
                label=_("Description (%(language)s)") % {"language": name}, max_length=5000,
                required=False, widget=forms.Textarea(attrs={"rows": 3}))
        self.currencies = _currencies(row.currency for row in plan.prices.all()) \
            if plan is not None else _currencies()
        for currency in self.currencies:
            self.fields[f"price_{currency}"] = money_field(
                currency, label=_("Price in %(currency)s") % {"currency": currency})
        self.fields[f"price_{self.currencies[0]}"].help_text = _(
            "In the currency's units, for example 4.99. Leave a currency empty to not sell "
            "the plan in it.")

    def clean_data(self):
        return parse_size(self.cleaned_data["data"])

    def clean_fair_use(self):
        return parse_size(self.cleaned_data["fair_use"])

    def clean_countries(self):
        return sorted({code.upper() for code in re.split(r"[\s,;]+",
                                                         self.cleaned_data["countries"])
                       if code})

    def clean(self):
        data = super().clean()
        self.prices = {}
        for currency in self.currencies:
            value = data.get(f"price_{currency}")
            if value is not None:
                try:
                    self.prices[currency] = to_minor(value, currency)
                except forms.ValidationError as error:
                    self.add_error(f"price_{currency}", error)
        if not self.prices and not any(f"price_{c}" in self.errors for c in self.currencies):
            self.add_error(f"price_{self.currencies[0]}",
                           _("A plan needs a price in at least one currency."))
        for language, _name in settings.LANGUAGES:
            slug = language_slug(language)
            if data.get(f"description_{slug}") and not data.get(f"name_{slug}") \
                    and f"name_{slug}" not in self.errors:
                self.add_error(f"name_{slug}", _("Write a name for this description, or "
                                                 "clear the description."))
        return data

    def terms(self) -> dict:
        data = self.cleaned_data
        return {"kind": data["kind"], "data_bytes": data["data"],
                "fair_use_bytes": data["fair_use"], "throttle_kbps": data["throttle_kbps"],
                "validity_days": data["validity_days"],
                "validity_start": data["validity_start"], "stacking": data["stacking"],
                "renewable": data["renewable"], "pausable": data["pausable"],
                "max_pause_days": data["max_pause_days"], "region": data["region"],
                "sort_order": data["sort_order"]}

    def translations(self) -> dict[str, tuple[str, str]]:
        names = {}
        for language, _name in settings.LANGUAGES:
            slug = language_slug(language)
            name = self.cleaned_data.get(f"name_{slug}", "").strip()
            if name:
                names[language] = (name, self.cleaned_data.get(f"description_{slug}", "")
                                   .strip())
        return names

    def field_for(self, name: str) -> str | None:
        """A ``plan_upsert`` error's field → this form's field."""
        parts = name.split(".")
        if parts[0] == "translations":
            language = parts[1] if len(parts) > 1 else FALLBACK_LANGUAGE
            kind = "description" if parts[-1] == "description" else "name"
            return f"{kind}_{language_slug(language)}"
        if parts[0] == "prices":
            return f"price_{parts[1]}" if len(parts) > 1 else f"price_{self.currencies[0]}"
        return {"data_bytes": "data", "fair_use_bytes": "fair_use"}.get(name, name)

    @staticmethod
    def initial_for(plan: Plan) -> dict:
        initial = {name: getattr(plan, name) for name in (
            "kind", "throttle_kbps", "validity_days", "validity_start", "stacking",
            "renewable", "pausable", "max_pause_days", "sort_order")}
        initial["data"] = size_text(plan.data_bytes)
        initial["fair_use"] = size_text(plan.fair_use_bytes)
        initial["region"] = plan.region.code if plan.region_id else None
        initial["countries"] = ", ".join(sorted(plan.own_country_codes()))
        for row in plan.translations.all():
            initial[f"name_{language_slug(row.language)}"] = row.name
            initial[f"description_{language_slug(row.language)}"] = row.description
        for row in plan.prices.all():
            initial[f"price_{row.currency}"] = from_minor(row.amount_minor, row.currency)
        return initial


def _plan(public_id) -> Plan:
    plan = Plan.objects.with_display_data().filter(public_id=public_id).first()
    if plan is None:
        raise Http404
    return plan


@staff_view(Perm.PLANS)
def plan_list(request):
    show = request.GET.get("show", PlanStatus.ACTIVE)
    plans = Plan.objects.with_display_data().order_by("sort_order", "code")
    if show in PlanStatus.values:
        plans = plans.filter(status=show)
    page = Paginator(plans, PER_PAGE).get_page(request.GET.get("page"))
    for plan in page.object_list:
        plan.english_name = plan.name_for(FALLBACK_LANGUAGE)
    return render(request, "backoffice/catalog/plans.html", {
        "page": page, "show": show, "statuses": PlanStatus.choices, "section": "plans"})


def _plan_page(request, form, *, plan=None, status=200):
    return render(request, "backoffice/catalog/plan_form.html", {
        "form": form, "plan": plan, "section": "plans",
        "state_form": KeyForm(initial={"key": _key()}),
        "audit": selectors.audit_about(public_id=plan.public_id) if plan else None,
    }, status=status)


def _plan_save(request, plan):
    form = PlanForm(request.POST, plan=plan)
    if form.is_valid():
        try:
            saved = services.staff_plan_save(
                plan=plan, code=form.cleaned_data.get("code", ""), terms=form.terms(),
                translations=form.translations(), prices=form.prices,
                countries=form.cleaned_data["countries"], acting_user=request.user,
                key=str(form.cleaned_data["key"]), now=timezone.now())
        except ServiceError as error:
            show_service_error(form, error, form.field_for)
        except IntegrityError:  # the same form arrived twice at once
            messages.info(request, _("That was already done."))
            return redirect("backoffice:plans")
        else:
            messages.success(request, _("The plan is saved."))
            return redirect("backoffice:plan_edit", saved.public_id)
    return _plan_page(request, form, plan=plan, status=400)


@staff_view(Perm.PLANS)
def plan_new(request):
    if request.method == "POST":
        return _plan_save(request, None)
    return _plan_page(request, PlanForm(initial={
        "key": _key(), "validity_days": 30, "renewable": True, "max_pause_days": 0,
        "sort_order": 0}))


@staff_view(Perm.PLANS)
def plan_edit(request, public_id):
    plan = _plan(public_id)
    if request.method == "POST":
        return _plan_save(request, plan)
    return _plan_page(request, PlanForm(plan=plan, initial={
        "key": _key(), **PlanForm.initial_for(plan)}), plan=plan)


def _plan_set_status(request, public_id, *, archived: bool):
    plan = _plan(public_id)
    form = KeyForm(request.POST)
    if not form.is_valid():
        page = PlanForm(plan=plan, initial={"key": _key(), **PlanForm.initial_for(plan)})
        page.add_error(None, _("The form was incomplete: try again."))
        return _plan_page(request, page, plan=plan, status=400)
    # IntegrityError: the same form arrived twice at once and the other request did it.
    with contextlib.suppress(IntegrityError):
        services.staff_plan_set_status(plan=plan, archived=archived, acting_user=request.user,
                                       key=str(form.cleaned_data["key"]), now=timezone.now())
    messages.success(request, _("The plan is archived: it is no longer sold.") if archived
                     else _("The plan is on sale again."))
    return redirect("backoffice:plan_edit", plan.public_id)


@require_POST
@staff_view(Perm.PLANS)
def plan_archive(request, public_id):
    return _plan_set_status(request, public_id, archived=True)


@require_POST
@staff_view(Perm.PLANS)
def plan_restore(request, public_id):
    return _plan_set_status(request, public_id, archived=False)
