"""Back-office views of payments. Money moves only through services: nothing here edits
an amount or a status by hand."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from simdesk.core.admin import ReadOnlyAdmin
from simdesk.core.clock import utcnow

from .models import (
    InboundWebhookEvent,
    Payment,
    PaymentStatusChange,
    Refund,
    SandboxCharge,
    SandboxWebhookDelivery,
    SavedPaymentMethod,
    WebhookStatus,
)
from .services import webhook_event_process


class StatusChangeInline(admin.TabularInline):
    model = PaymentStatusChange
    extra = 0
    can_delete = False
    fields = ["at", "from_status", "to_status", "source", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = ["refunded_at", "amount_minor", "gateway_refund_id", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "customer", "gateway", "amount_minor", "currency", "status",
                    "reference", "created_at", "succeeded_at"]
    list_filter = ["status", "gateway", "currency", "off_session"]
    search_fields = ["public_id", "reference", "gateway_payment_id", "idempotency_key",
                     "customer__email"]
    date_hierarchy = "created_at"
    inlines = [StatusChangeInline, RefundInline]


@admin.register(InboundWebhookEvent)
class InboundWebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "gateway", "type", "status", "attempts", "received_at",
                    "processed_at", "next_attempt_at"]
    list_filter = ["status", "gateway", "type"]
    search_fields = ["event_id", "gateway_payment_id"]
    actions = ["reprocess"]

    def has_reprocess_permission(self, request):
        # Editing is off for everyone; reprocessing needs the model's change right.
        return request.user.has_perm("payments.change_inboundwebhookevent")

    @admin.action(description=_("Process the selected events again"),
                  permissions=["reprocess"])
    def reprocess(self, request, queryset):
        now = utcnow()
        done = failed = 0
        for event in queryset.exclude(status=WebhookStatus.PROCESSED):
            event = webhook_event_process(event=event, now=now)
            if event.status == WebhookStatus.PROCESSED:
                done += 1
            else:
                failed += 1
        if done:
            self.message_user(request, ngettext("%(count)d event processed.",
                                                "%(count)d events processed.", done)
                              % {"count": done}, messages.SUCCESS)
        if failed:
            self.message_user(request, ngettext(
                "%(count)d event failed again; see its last error.",
                "%(count)d events failed again; see their last errors.", failed)
                % {"count": failed}, messages.WARNING)
        if not done and not failed:
            self.message_user(request, _("The selected events were already processed."),
                              messages.INFO)


@admin.register(SavedPaymentMethod)
class SavedPaymentMethodAdmin(ReadOnlyAdmin):
    list_display = ["label", "customer", "gateway", "created_at", "removed_at"]
    list_filter = ["gateway"]
    search_fields = ["customer__email", "label"]
    exclude = ["token"]


@admin.register(SandboxCharge)
class SandboxChargeAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "amount_minor", "currency", "status", "off_session",
                    "test_card", "created_at"]
    list_filter = ["status", "off_session"]


@admin.register(SandboxWebhookDelivery)
class SandboxWebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "copy", "event_type", "status", "attempts", "last_status_code",
                    "next_attempt_at", "delivered_at"]
    list_filter = ["status", "event_type"]
