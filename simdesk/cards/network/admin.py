"""Staff read what the network was asked and what it answered, and retry failed requests."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from simdesk.cards.models import NetworkAction, NetworkActionStatus
from simdesk.core.admin import ReadOnlyAdmin
from simdesk.core.clock import utcnow

from .services import network_action_retry


@admin.register(NetworkAction)
class NetworkActionAdmin(ReadOnlyAdmin):
    list_display = ["requested_at", "card", "action", "status", "attempts", "adapter",
                    "completed_at", "next_attempt_at", "reason"]
    list_filter = ["status", "action", "adapter"]
    search_fields = ["card__iccid", "reason", "dedupe_key", "public_id"]
    date_hierarchy = "requested_at"
    list_select_related = ["card"]
    readonly_fields = [field.name for field in NetworkAction._meta.fields] + ["public_id"]
    actions = ["retry"]

    def has_retry_permission(self, request):
        return request.user.has_perm("cards.change_networkaction")

    @admin.action(description=_("Ask the network again for the selected failed requests"),
                  permissions=["retry"])
    def retry(self, request, queryset):
        now = utcnow()
        count = sum(network_action_retry(action=action, now=now)
                    for action in queryset.filter(status=NetworkActionStatus.FAILED))
        self.message_user(request, ngettext("%(count)d request queued again.",
                                            "%(count)d requests queued again.", count)
                          % {"count": count}, messages.SUCCESS)
