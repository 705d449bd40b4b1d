from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from simdesk.core.admin import ReadOnlyAdmin
from simdesk.core.clock import utcnow

from .models import Card, CardEvent, LedgerEntry, Period
from .network.admin import NetworkActionAdmin  # noqa: F401 (registers the network log)
from .services import cards_import_csv


class CardImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 CSV with the header iccid, claim_code, activation_code, imsi, "
                    "msisdn, eid. Only iccid and claim_code are required."),
    )


class CardEventInline(admin.TabularInline):
    model = CardEvent
    fk_name = "card"
    extra = 0
    can_delete = False
    fields = ["at", "kind", "from_state", "to_state", "period", "actor", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):
    list_display = ["iccid", "owner", "state", "label", "usage_updated_at", "created_at"]
    list_filter = ["state"]
    search_fields = ["iccid", "imsi", "msisdn", "eid", "owner__email"]
    raw_id_fields = ["owner"]
    # paused_at/pause_until: a customer's pause, which goes on under a staff suspension.
    readonly_fields = ["public_id", "state", "state_changed_at", "paused_at", "pause_until",
                       "claimed_at", "usage_updated_at", "overage_bytes", "created_at",
                       "updated_at"]
    fields = ["iccid", "imsi", "msisdn", "eid", "activation_code", "owner", "label",
              *readonly_fields]
    inlines = [CardEventInline]
    change_list_template = "admin/cards/card/change_list.html"

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_view),
                 name="cards_card_import"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        """Upload a CSV; the same service as ``simdesk import-cards`` imports it."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        report = None
        form = CardImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            report = cards_import_csv(stream=form.cleaned_data["file"].file, now=utcnow())
            level = messages.SUCCESS if report.ok else messages.WARNING
            self.message_user(request, _("%(created)d of %(total)d cards imported.")
                              % {"created": report.created, "total": report.total}, level)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import cards"),
            "form": form,
            "report": report,
            "changelist_url": reverse("admin:cards_card_changelist"),
        }
        return TemplateResponse(request, "admin/cards/card/import.html", context)



@admin.register(Period)
class PeriodAdmin(ReadOnlyAdmin):
    """Periods change only through services (purchase, usage, expiry, refund)."""

    list_display = ["card", "plan_code", "state", "remaining_bytes", "total_bytes",
                    "starts_at", "ends_at", "source"]
    list_filter = ["state", "stacking", "validity_start"]
    search_fields = ["card__iccid", "plan_code", "source"]
    list_select_related = ["card"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """Append-only: nothing here can be added, edited or deleted."""

    list_display = ["id", "card", "period", "kind", "bytes", "balance_after", "reference",
                    "at", "created_at"]
    list_filter = ["kind"]
    search_fields = ["card__iccid", "reference"]
    list_select_related = ["card", "period"]
