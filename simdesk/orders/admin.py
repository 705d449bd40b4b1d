"""Orders in the back office: read-only history; money moves only through services."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from simdesk.core.admin import ReadOnlyAdmin
from simdesk.core.clock import utcnow
from simdesk.core.errors import ServiceError
from simdesk.core.money import Money

from .models import Order, OrderEvent, RefundRequest, RefundRequestEvent, RefundRequestStatus
from .services import refund_request_approve, refund_request_reject


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    fields = ("at", "from_status", "to_status", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("public_id", "customer", "plan", "card", "status", "total_minor", "currency",
                    "created_at", "paid_at", "fulfilled_at")
    list_filter = ("status", "currency", "new_esim")
    search_fields = ("public_id", "customer__email", "card__iccid", "coupon_code",
                     "idempotency_key")
    list_select_related = ("customer", "plan", "card")
    date_hierarchy = "created_at"
    inlines = [OrderEventInline]
    readonly_fields = [f.name for f in Order._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Refund requests: staff decide through actions that call the services ------------------

class RefundRequestEventInline(admin.TabularInline):
    model = RefundRequestEvent
    extra = 0
    can_delete = False
    fields = ("at", "from_status", "to_status", "actor", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ApproveForm(forms.Form):
    amount_minor = forms.IntegerField(
        label=_("Amount to refund (minor units)"), min_value=1,
        help_text=_("In the currency's smallest unit: cents for USD, fen for CNY, yen for JPY."))
    note = forms.CharField(label=_("Note to the customer (optional)"), max_length=300,
                           required=False)


class RejectForm(forms.Form):
    note = forms.CharField(label=_("Why (sent to the customer, optional)"), max_length=300,
                           required=False, widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(RefundRequest)
class RefundRequestAdmin(ReadOnlyAdmin):
    """Read-only rows; "Approve…" and "Reject…" call ``refund_request_approve`` /
    ``refund_request_reject`` (the back office will call the same services)."""

    list_display = ("public_id", "customer", "status", "cause", "suggested_minor",
                    "amount_minor", "currency", "created_at", "decided_by", "decided_at")
    list_filter = ("status", "cause", "currency", "automatic")
    search_fields = ("public_id", "customer__email", "period__card__iccid",
                     "order__public_id")
    list_select_related = ("customer", "decided_by")
    inlines = [RefundRequestEventInline]
    actions = ["approve", "approve_suggested", "reject"]

    def has_decide_permission(self, request):
        return request.user.has_perm("orders.change_refundrequest")

    def _pending(self, request, queryset):
        pending = list(queryset.filter(status=RefundRequestStatus.PENDING)
                       .select_related("customer", "period__card", "order__payment"))
        if not pending:
            self.message_user(request, _("None of the selected requests is waiting for a "
                                         "decision."), messages.WARNING)
        return pending

    def _form_page(self, request, queryset, *, form, title, action, pending):
        return TemplateResponse(request, "admin/orders/refundrequest/decide.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
            "title": title, "action": action, "requests": pending,
            "selected": queryset.values_list("pk", flat=True),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        })

    @admin.action(description=_("Approve with another amount…"), permissions=["decide"])
    def approve(self, request, queryset):
        pending = self._pending(request, queryset)
        if not pending:
            return None
        if len(pending) != 1:
            self.message_user(request, _("Choose one request to approve with an amount of "
                                         "your own."), messages.WARNING)
            return None
        rr = pending[0]
        form = ApproveForm(request.POST if "apply" in request.POST else None,
                           initial={"amount_minor": rr.suggested_minor})
        if form.is_valid():
            try:
                refund_request_approve(request=rr, amount_minor=form.cleaned_data["amount_minor"],
                                       acting_user=request.user, now=utcnow(),
                                       note=form.cleaned_data["note"])
            except ServiceError as error:
                form.add_error("amount_minor", error.message)
            else:
                self.message_user(request, _("Refunded %(amount)s.") % {
                    "amount": Money(form.cleaned_data["amount_minor"], rr.currency)},
                    messages.SUCCESS)
                return None
        return self._form_page(request, queryset, form=form, action="approve", pending=pending,
                               title=_("Approve a refund"))

    @admin.action(description=_("Approve with the suggested amount"), permissions=["decide"])
    def approve_suggested(self, request, queryset):
        for rr in self._pending(request, queryset):
            if rr.suggested_minor == 0:
                self.message_user(request, _("%(id)s suggests nothing: approve it with an "
                                             "amount, or reject it.") % {"id": rr.public_id},
                                  messages.WARNING)
                continue
            try:
                refund_request_approve(request=rr, amount_minor=int(rr.suggested_minor),
                                       acting_user=request.user, now=utcnow())
            except ServiceError as error:
                self.message_user(request, f"{rr.public_id}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, _("Refunded %(amount)s.") % {"amount": rr.suggested},
                                  messages.SUCCESS)

    @admin.action(description=_("Reject…"), permissions=["decide"])
    def reject(self, request, queryset):
        pending = self._pending(request, queryset)
        if not pending:
            return None
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            for rr in pending:
                try:
                    refund_request_reject(request=rr, acting_user=request.user, now=utcnow(),
                                          note=form.cleaned_data["note"])
                except ServiceError as error:
                    self.message_user(request, f"{rr.public_id}: {error.message}",
                                      messages.ERROR)
            self.message_user(request, ngettext("%(count)d request rejected.",
                                                "%(count)d requests rejected.", len(pending))
                              % {"count": len(pending)}, messages.SUCCESS)
            return None
        return self._form_page(request, queryset, form=form, action="reject", pending=pending,
                               title=_("Reject refund requests"))
