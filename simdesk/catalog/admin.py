"""Back office for the catalog: staff edit plans with their names, prices and countries.

Field rules live in ``Plan.clean``; the rules that span a plan and its inline
rows (an English name, a price, some coverage) are checked by the inline
formsets, which see the plan as edited on the same page.
"""

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from simdesk.core.admin import ReadOnlyAdmin
from simdesk.core.units import format_bytes

from .countries import COUNTRY_CODES
from .models import (
    COUPON_USED_STATES,
    FALLBACK_LANGUAGE,
    Coupon,
    CouponAmount,
    CouponKind,
    CouponRedemption,
    Plan,
    PlanCountry,
    PlanPrice,
    PlanStatus,
    PlanTranslation,
    Region,
    RegionTranslation,
)
from .services import plan_archive, plan_restore


def _live_forms(formset):
    return [
        form for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


class RequireEnglishFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        languages = {form.cleaned_data.get("language") for form in _live_forms(self)}
        if FALLBACK_LANGUAGE not in languages:
            raise ValidationError(_(
                "Give a name in English: it is shown whenever there is none in the "
                "customer's language."
            ))


class RequirePriceFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        if self.instance.status == PlanStatus.ACTIVE and not _live_forms(self):
            raise ValidationError(_(
                "An active plan needs at least one price; add one, or archive the plan."
            ))


class RequireCoverageFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        # The admin builds inline formsets around the plan as edited on this
        # page, so ``instance.region`` is the region chosen in this submission.
        if self.instance.region_id is None and not _live_forms(self):
            raise ValidationError(_(
                "Say where the plan works: choose a region, or add at least one country."
            ))


class PlanTranslationInline(admin.StackedInline):
    model = PlanTranslation
    formset = RequireEnglishFormSet
    extra = 0
    min_num = 1
    fields = ["language", "name", "description"]


class PlanPriceInline(admin.TabularInline):
    model = PlanPrice
    formset = RequirePriceFormSet
    extra = 0
    fields = ["currency", "amount_minor"]


class PlanCountryForm(forms.ModelForm):
    class Meta:
        model = PlanCountry
        fields = ["country"]

    def clean_country(self):
        return (self.cleaned_data.get("country") or "").upper()


class PlanCountryInline(admin.TabularInline):
    model = PlanCountry
    form = PlanCountryForm
    formset = RequireCoverageFormSet
    extra = 0
    fields = ["country"]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["code", "english_name", "kind", "data", "validity_days", "stacking",
                    "region", "status", "sort_order"]
    list_filter = ["status", "kind", "stacking", "validity_start", "region"]
    list_editable = ["sort_order"]
    search_fields = ["code", "translations__name"]
    readonly_fields = ["public_id", "archived_at", "created_at", "updated_at"]
    inlines = [PlanTranslationInline, PlanPriceInline, PlanCountryInline]
    actions = ["archive_plans", "restore_plans"]
    fieldsets = [
        (None, {"fields": ["code", "kind", "status", "sort_order"]}),
        (_("Data"), {
            "fields": ["data_bytes", "fair_use_bytes", "throttle_kbps"],
            "description": _("A plan has a data allowance, or is unlimited (data left empty) "
                             "with a fair-use cap and a throttle speed."),
        }),
        (_("Validity and stacking"), {
            "fields": ["validity_days", "validity_start", "stacking", "renewable",
                       "pausable", "max_pause_days"],
            "description": _("A top-up extends or runs in parallel, never queues. A plan that "
                             "extends starts on purchase. A pausable plan says for how many "
                             "days."),
        }),
        (_("Coverage"), {"fields": ["region"],
                         "description": _("A region, extra countries below, or both.")}),
        (_("Record"), {"fields": ["public_id", "archived_at", "created_at", "updated_at"],
                       "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("region").prefetch_related(
            "translations"
        )

    @admin.display(description=_("name"))
    def english_name(self, plan):
        return plan.name_for(FALLBACK_LANGUAGE)

    @admin.display(description=_("data"), ordering="data_bytes")
    def data(self, plan):
        return _("unlimited") if plan.is_unlimited else format_bytes(plan.data_bytes)

    @admin.action(description=_("Archive the selected plans (stop selling them)"))
    def archive_plans(self, request, queryset):
        now = timezone.now()
        count = 0
        for plan in queryset.filter(status=PlanStatus.ACTIVE):
            plan_archive(plan=plan, now=now)
            count += 1
        self.message_user(request, ngettext(
            "%(count)d plan archived.", "%(count)d plans archived.", count
        ) % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Sell the selected archived plans again"))
    def restore_plans(self, request, queryset):
        now = timezone.now()
        count = 0
        for plan in queryset.filter(status=PlanStatus.ARCHIVED):
            plan_restore(plan=plan, now=now)
            count += 1
        self.message_user(request, ngettext(
            "%(count)d plan is on sale again.", "%(count)d plans are on sale again.", count
        ) % {"count": count}, messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        # Archiving through the status field records when, like the action does.
        if obj.status == PlanStatus.ARCHIVED and obj.archived_at is None:
            obj.archived_at = timezone.now()
        elif obj.status == PlanStatus.ACTIVE:
            obj.archived_at = None
        super().save_model(request, obj, form, change)


class RegionForm(forms.ModelForm):
    """Countries typed as "FR, DE, IT" rather than as JSON."""

    countries = forms.CharField(
        label=_("countries"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("ISO 3166-1 alpha-2 codes separated by commas or spaces, e.g. FR, DE, IT."),
    )

    class Meta:
        model = Region
        fields = ["code", "countries"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["countries"] = ", ".join(self.instance.countries)

    def clean_countries(self):
        codes = [c.upper() for c in re.split(r"[\s,;]+", self.cleaned_data["countries"]) if c]
        unknown = sorted({c for c in codes if c not in COUNTRY_CODES})
        if unknown:
            raise ValidationError(
                _("These are not ISO 3166-1 country codes: %(codes)s."),
                params={"codes": ", ".join(unknown)},
                code="invalid_country",
            )
        if not codes:
            raise ValidationError(_("A region needs at least one country."))
        return sorted(set(codes))


class RegionTranslationInline(admin.TabularInline):
    model = RegionTranslation
    formset = RequireEnglishFormSet
    extra = 0
    min_num = 1
    fields = ["language", "name"]


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    form = RegionForm
    list_display = ["code", "english_name", "country_count"]
    search_fields = ["code", "translations__name"]
    inlines = [RegionTranslationInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("translations")

    @admin.display(description=_("name"))
    def english_name(self, region):
        return region.name_for(FALLBACK_LANGUAGE)

    @admin.display(description=_("countries"))
    def country_count(self, region):
        return len(region.countries)


# --- Coupons ---------------------------------------------------------------------------------

class CouponAmountFormSet(forms.BaseInlineFormSet):
    """A fixed-amount coupon says how much it takes off in at least one currency; a
    percent coupon has no amounts (they would be ignored and mislead)."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        live = _live_forms(self)
        if self.instance.kind == CouponKind.FIXED and not live:
            raise ValidationError(_("Give the amount off in at least one currency. Orders in "
                                    "other currencies cannot use this coupon."))
        if self.instance.kind == CouponKind.PERCENT and live:
            raise ValidationError(_("A percent coupon takes no amounts per currency: remove "
                                    "them, or make it a fixed-amount coupon."))


class CouponAmountInline(admin.TabularInline):
    model = CouponAmount
    formset = CouponAmountFormSet
    extra = 0


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    """Discount codes. Uses that are reserved (checkout in progress) or confirmed (paid)
    count against the limits; released ones (unpaid, refunded) do not."""

    list_display = ["code", "kind", "discount", "valid_from", "valid_until", "uses",
                    "max_redemptions", "active"]
    list_filter = ["active", "kind"]
    search_fields = ["code", "description"]
    filter_horizontal = ["plans"]
    inlines = [CouponAmountInline]
    fieldsets = [
        (None, {"fields": ["code", "description", "active"]}),
        (_("Discount"), {"fields": ["kind", "percent_off"],
                         "description": _("Percent discounts are rounded down to the "
                                          "smallest unit; no discount takes an order "
                                          "below zero.")}),
        (_("When and how often"), {"fields": ["valid_from", "valid_until", "max_redemptions",
                                              "max_per_customer"]}),
        (_("Plans"), {"fields": ["plans"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("amounts").annotate(
            used=Count("redemptions", filter=Q(redemptions__status__in=COUPON_USED_STATES))
        )

    @admin.display(description=_("discount"))
    def discount(self, obj):
        if obj.kind == CouponKind.PERCENT:
            return f"{obj.percent_off} %"
        return ", ".join(str(row) for row in obj.amounts.all()) or "—"

    @admin.display(description=_("uses"), ordering="used")
    def uses(self, obj):
        return obj.used


@admin.register(CouponRedemption)
class CouponRedemptionAdmin(ReadOnlyAdmin):
    """Every use of a coupon, read-only: services reserve, confirm and release them."""

    list_display = ["coupon", "customer", "reference", "amount_minor", "currency", "status",
                    "reserved_at", "confirmed_at", "released_at"]
    list_filter = ["status", "coupon"]
    search_fields = ["coupon__code", "customer__email", "reference"]
    list_select_related = ["coupon", "customer"]
