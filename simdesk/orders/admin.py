"""Orders in the back office: read-only history; money moves only through services."""

from django.contrib import admin

from .models import Order, OrderEvent


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
