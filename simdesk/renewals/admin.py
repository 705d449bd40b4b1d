from django.contrib import admin

from .models import RenewalAttempt, RenewalAttemptEvent, RenewalSettings


@admin.register(RenewalSettings)
class RenewalSettingsAdmin(admin.ModelAdmin):
    list_display = ("card", "enabled", "plan", "trigger_before_expiry_hours",
                    "trigger_low_data_percent", "disabled_reason", "changed_at")
    list_filter = ("enabled",)
    raw_id_fields = ("card", "plan", "payment_method")
    search_fields = ("card__iccid",)


class RenewalAttemptEventInline(admin.TabularInline):
    model = RenewalAttemptEvent
    extra = 0
    can_delete = False
    readonly_fields = ("from_status", "to_status", "at", "note")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RenewalAttempt)
class RenewalAttemptAdmin(admin.ModelAdmin):
    inlines = [RenewalAttemptEventInline]
    list_display = ("idempotency_key", "status", "attempt_count", "next_attempt_at",
                    "succeeded_at", "reminder_sent_at")
    list_filter = ("status",)
    raw_id_fields = ("card", "period", "order")
    search_fields = ("idempotency_key", "card__iccid")
    readonly_fields = [f.name for f in RenewalAttempt._meta.fields]
