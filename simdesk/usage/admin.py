from django.contrib import admin
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils.translation import gettext_lazy as _

from simdesk.core.admin import ReadOnlyAdmin

from .models import AlertSent, RatingRun, Record, Source
from .selectors import usage_rated_through


@admin.register(AlertSent)
class AlertSentAdmin(admin.ModelAdmin):
    """Which alerts each period has had: read-only, the record that makes them go once."""

    list_display = ["period", "kind", "threshold", "sent_at"]
    list_filter = ["kind"]
    search_fields = ["period__card__iccid", "period__public_id"]
    list_select_related = ["period"]
    date_hierarchy = "sent_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Source)
class SourceAdmin(ReadOnlyAdmin):
    """Who sends usage (a mediation system, an API key, the RADIUS server): made by the
    first record each sends."""

    list_display = ["name"]
    search_fields = ["name"]


class RatedFilter(admin.SimpleListFilter):
    title = _("rated")
    parameter_name = "rated"

    def lookups(self, request, model_admin):
        return [("yes", _("Rated")), ("no", _("Waiting to be rated"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__lte=usage_rated_through())
        if self.value() == "no":
            return queryset.filter(pk__gt=usage_rated_through())
        return queryset


@admin.register(Record)
class RecordAdmin(ReadOnlyAdmin):
    """Usage records as the network sent them, each kept once per source and record id;
    a record is rated (applied to its card) once the rating cursor has passed it."""

    list_display = ["id", "source", "record_id", "card", "bytes", "ended_at", "rated"]
    list_filter = [RatedFilter, "source"]
    list_select_related = ["source", "card"]
    # Exact record id, looked up through the (source, record id) key: see below.
    search_fields = ["record_id"]
    search_help_text = _("The exact record id, from any source.")
    fields = ["source", "record_id", "card", "bytes", "ended_at", "rated"]
    readonly_fields = ["ended_at", "rated"]
    ordering = ["-id"]
    # The table is large: no second count of every record beside a filtered one.
    show_full_result_count = False

    def get_queryset(self, request):
        # One read of the cursor per page; every row is compared with it.
        return super().get_queryset(request).annotate(
            is_rated=ExpressionWrapper(Q(pk__lte=usage_rated_through()),
                                       output_field=BooleanField()))

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        # Naming every source lets the unique (source, record id) index find the record
        # instead of reading the whole table (sources are few).
        sources = list(Source.objects.values_list("pk", flat=True))
        return queryset.filter(source_id__in=sources, record_id=term), False

    @admin.display(description=_("ended at"))
    def ended_at(self, obj: Record):
        return obj.at

    @admin.display(description=_("rated"), boolean=True)
    def rated(self, obj: Record) -> bool:
        return obj.is_rated


@admin.register(RatingRun)
class RatingRunAdmin(ReadOnlyAdmin):
    """One transaction of rating each: the records after ``after`` through ``through``.
    A card's usage ledger rows name the run (``rating:<run>:<card>``)."""

    list_display = ["id", "after", "through", "records", "cards", "rated_at"]
    ordering = ["-id"]
    show_full_result_count = False
