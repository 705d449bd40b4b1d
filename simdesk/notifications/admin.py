from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from simdesk.core.clock import utcnow

from .models import Notification, NotificationPreferences, NotificationStatus
from .services import notification_retry


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox, read-only: what was sent to whom, and what failed and why."""

    list_display = ["kind", "user", "language", "status", "attempts", "queued_at", "sent_at",
                    "next_attempt_at"]
    list_filter = ["status", "kind", "language"]
    search_fields = ["user__email", "dedupe_key", "public_id"]
    date_hierarchy = "queued_at"
    list_select_related = ["user"]
    readonly_fields = [field.name for field in Notification._meta.fields] + ["public_id"]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        # Rows are never edited by hand, but staff allowed to change them may resend.
        return request.user.has_perm("notifications.change_notification")

    @admin.action(description=_("Send the selected failed messages again"),
                  permissions=["retry"])
    def retry(self, request, queryset):
        now = utcnow()
        count = sum(notification_retry(notification=n, now=now)
                    for n in queryset.filter(status=NotificationStatus.FAILED))
        self.message_user(request, ngettext("%(count)d message queued again.",
                                            "%(count)d messages queued again.", count)
                          % {"count": count}, messages.SUCCESS)


@admin.register(NotificationPreferences)
class NotificationPreferencesAdmin(admin.ModelAdmin):
    """Read-only for staff: customers change these themselves, through the validating page."""

    list_display = ["user", "alerts", "marketing", "usage_thresholds", "expiry_days",
                    "updated_at"]
    list_filter = ["alerts", "marketing"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    readonly_fields = ["user", "alerts", "marketing", "usage_thresholds", "expiry_days",
                       "updated_at"]
    exclude = ["usage_floor", "usage_top", "expiry_horizon", "expiry_last"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
