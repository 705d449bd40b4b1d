import zoneinfo

from django import forms
from django.conf import settings
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _


def language_choices():
    # Each language in its own name, so anyone can find theirs whatever the page is in.
    return [(code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES]


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=language_choices)
    time_zone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        help_text=_("For example Asia/Shanghai or Europe/London."),
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
    )
    currency = forms.ChoiceField(
        label=_("Preferred currency"),
        choices=[(code, code) for code in settings.CURRENCIES],
    )

    def clean_time_zone(self):
        value = self.cleaned_data["time_zone"].strip()
        if value not in zoneinfo.available_timezones():
            raise forms.ValidationError(
                _("“%(value)s” is not a time zone we know. Pick one from the list, "
                  "such as Asia/Shanghai."),
                code="invalid_time_zone",
                params={"value": value},
            )
        return value
