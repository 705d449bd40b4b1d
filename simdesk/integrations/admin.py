from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from simdesk.core.admin import ReadOnlyAdmin
from simdesk.core.clock import utcnow

from .models import (
    DeliveryStatus,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from .services import (
    delivery_retry,
    endpoint_rotate_secret,
    endpoint_set_active,
    webhook_test_send,
)

SUBSCRIBABLE = [(value, label) for value, label in EventType.choices
                if value != EventType.WEBHOOK_TEST]


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https",
                         help_text=_("Where events are POSTed, http:// or https://."))
    event_types = forms.MultipleChoiceField(
        label=_("event types"), choices=SUBSCRIBABLE, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The types this endpoint receives; none chosen means all of them."))

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types", "active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError(_("Use an http:// or https:// address."))
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Where integrators receive events. Staff copy the signing secret from here; an
    endpoint is switched off rather than deleted, so its delivery history stays."""

    form = WebhookEndpointForm
    list_display = ["url", "description", "active", "subscribed", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "description", "public_id"]
    readonly_fields = ["public_id", "secret_shown", "created_at", "updated_at"]
    actions = ["send_test_event", "deactivate", "activate", "rotate_secret"]

    def get_fields(self, request, obj=None):
        fields = ["url", "description", "event_types", "active"]
        if obj is None:
            return fields
        # The secret signs what integrators trust: only staff who may change endpoints see it.
        secret = ["secret_shown"] if self.has_change_permission(request, obj) else []
        return [*fields, "public_id", *secret, "created_at", "updated_at"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("event types"))
    def subscribed(self, obj):
        return ", ".join(obj.event_types) if obj.event_types else _("all")

    @admin.display(description=_("signing secret"))
    def secret_shown(self, obj):
        return format_html("<code>{}</code>", obj.secret)

    @admin.action(description=_("Send a test event to the selected endpoints"),
                  permissions=["change"])
    def send_test_event(self, request, queryset):
        now = utcnow()
        for endpoint in queryset:
            webhook_test_send(endpoint=endpoint, now=now)
        count = queryset.count()
        self.message_user(request, ngettext(
            "A test event was queued for %(count)d endpoint; its result is listed under "
            "webhook deliveries.",
            "A test event was queued for %(count)d endpoints; their results are listed "
            "under webhook deliveries.", count) % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Switch the selected endpoints off"), permissions=["change"])
    def deactivate(self, request, queryset):
        self._set_active(request, queryset, active=False)

    @admin.action(description=_("Switch the selected endpoints on"), permissions=["change"])
    def activate(self, request, queryset):
        self._set_active(request, queryset, active=True)

    def _set_active(self, request, queryset, *, active: bool):
        now = utcnow()
        count = sum(endpoint_set_active(endpoint=e, active=active, now=now) for e in queryset)
        self.message_user(request, ngettext("%(count)d endpoint changed.",
                                            "%(count)d endpoints changed.", count)
                          % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Make a new signing secret for the selected endpoints"),
                  permissions=["change"])
    def rotate_secret(self, request, queryset):
        now = utcnow()
        for endpoint in queryset:
            endpoint_rotate_secret(endpoint=endpoint, now=now)
        self.message_user(request, _("New secrets made; open each endpoint to copy its secret "
                                     "for the integrator."), messages.WARNING)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "created_at"]
    list_filter = ["type"]
    search_fields = ["event_id", "dedupe_key"]
    date_hierarchy = "created_at"
    readonly_fields = ["event_id", "type", "data", "dedupe_key", "created_at"]


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ["number", "at", "http_status", "duration_ms", "error", "response_excerpt"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """Each event to each endpoint: its status, and every attempt's answer or error."""

    list_display = ["event_type", "event_ref", "endpoint", "status", "attempts",
                    "next_attempt_at", "delivered_at"]
    list_filter = ["status", "event__type"]
    search_fields = ["event__event_id", "endpoint__url", "public_id"]
    list_select_related = ["event", "endpoint"]
    readonly_fields = ["public_id", "event", "endpoint", "status", "attempts", "round_start",
                       "next_attempt_at", "leased_until", "delivered_at", "created_at"]
    inlines = [WebhookAttemptInline]
    actions = ["retry"]

    @admin.display(description=_("type"), ordering="event__type")
    def event_type(self, obj):
        return obj.event.get_type_display()

    @admin.display(description=_("event id"), ordering="event__event_id")
    def event_ref(self, obj):
        return obj.event.event_id

    def has_retry_permission(self, request):
        return request.user.has_perm("integrations.change_webhookendpoint")

    @admin.action(description=_("Try the selected failed deliveries again now"),
                  permissions=["retry"])
    def retry(self, request, queryset):
        now = utcnow()
        count = sum(delivery_retry(delivery=d, now=now) for d in queryset.filter(
            status__in=(DeliveryStatus.FAILED, DeliveryStatus.GIVEN_UP)))
        self.message_user(request, ngettext("%(count)d delivery queued again.",
                                            "%(count)d deliveries queued again.", count)
                          % {"count": count}, messages.SUCCESS)


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdmin):
    list_display = ["delivery", "number", "at", "http_status", "duration_ms", "error"]
    list_filter = ["http_status"]
    search_fields = ["delivery__event__event_id", "delivery__public_id"]
    list_select_related = ["delivery"]
    readonly_fields = ["delivery", "number", "at", "http_status", "response_excerpt", "error",
                       "duration_ms"]
