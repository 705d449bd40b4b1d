from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from simdesk.core.clock import utcnow
from simdesk.core.errors import ServiceError

from .keys import operator_key_create, operator_key_revoke, operator_key_scopes_clean
from .models import OperatorApiKey, OperatorScope


class OperatorApiKeyAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(label=_("Scopes"), choices=OperatorScope.choices,
                                       widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = OperatorApiKey
        fields = ["name", "scopes"]

    def clean_scopes(self):
        try:
            return operator_key_scopes_clean(self.cleaned_data["scopes"])
        except ServiceError as error:
            raise ValidationError(error.message) from error


@admin.register(OperatorApiKey)
class OperatorApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "scopes", "created_by", "created_at", "last_used_at",
                    "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]
    readonly_fields = ["name", "prefix", "scopes", "created_by", "created_at", "last_used_at",
                       "revoked_at"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = OperatorApiKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ["name", "scopes"]

    def save_model(self, request, obj, form, change):
        if change:
            return
        key, token = operator_key_create(name=form.cleaned_data["name"],
                                         scopes=form.cleaned_data["scopes"],
                                         created_by=request.user, now=utcnow())
        # The admin goes on with ``obj`` (redirect, log entry): make it the issued row.
        obj.__dict__.update({k: v for k, v in key.__dict__.items() if k != "_state"})
        obj._state.adding = False
        obj._state.db = key._state.db
        messages.warning(request, _(
            "The key is %(token)s — copy it now: it is stored only as a hash and will not be "
            "shown again.") % {"token": token})

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request, queryset):
        now, keys = utcnow(), list(queryset)
        for key in keys:
            operator_key_revoke(key=key, now=now)
        self.message_user(request, ngettext("Revoked %(count)d key.", "Revoked %(count)d keys.",
                                            len(keys)) % {"count": len(keys)})
