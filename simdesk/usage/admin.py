from django.contrib import admin

from .models import AlertSent


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
