"""Staff manage the network access servers allowed to talk RADIUS to simdesk, and read
the sessions the accounting server keeps.

The shared secret is write-only in the back office: it is typed (or pasted) when a
NAS is added or the secret is changed, and never shown again, not even masked in a
form field (the list shows only its length). Leaving it empty on edit keeps it.
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from simdesk.core.admin import ReadOnlyAdmin

from .models import NasClient, RadiusSession


class NasClientForm(forms.ModelForm):
    secret = forms.CharField(
        label=_("shared secret"), required=False, max_length=128, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("At least 16 characters. Shown only while you type it; leave empty "
                    "to keep the current secret."),
    )

    class Meta:
        model = NasClient
        fields = ["name", "address", "secret", "coa_port", "active"]

    def clean_secret(self):
        secret = self.cleaned_data.get("secret") or ""
        if not secret:
            if self.instance.pk is None or not self.instance.secret:
                raise forms.ValidationError(_("Give the shared secret the NAS is configured "
                                              "with."))
            return self.instance.secret
        if len(secret) < 16:
            raise forms.ValidationError(_("Use a shared secret of at least 16 characters."))
        return secret


@admin.register(NasClient)
class NasClientAdmin(admin.ModelAdmin):
    form = NasClientForm
    list_display = ["name", "address", "coa_port", "active", "secret_masked", "updated_at"]
    list_filter = ["active"]
    search_fields = ["name", "address"]

    @admin.display(description=_("shared secret"))
    def secret_masked(self, obj: NasClient) -> str:
        return _("set, %(count)d characters") % {"count": len(obj.secret)}


@admin.register(RadiusSession)
class RadiusSessionAdmin(ReadOnlyAdmin):
    list_display = ["session_id", "card", "nas", "generation", "bytes_in", "bytes_out",
                    "mcc_mnc", "started_at", "last_event_at", "stopped_at"]
    list_filter = ["nas"]
    search_fields = ["session_id", "card__iccid", "user_name"]
    list_select_related = ["card", "nas"]
    readonly_fields = [field.name for field in RadiusSession._meta.fields]

