from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "is_staff", "is_active", "language", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "language"]
    search_fields = ["email"]
    readonly_fields = ["public_id", "date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password", "public_id"]}),
        (_("Preferences"), {"fields": ["language", "time_zone", "currency"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups",
                                       "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
