"""The notification preferences page: which optional e-mails to get, and alert thresholds.

Receipts, payment and renewal e-mails always go out and have no switch here.
"""

import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from simdesk.core.clock import utcnow
from simdesk.notifications.selectors import notification_preferences_get
from simdesk.notifications.services import PreferenceInvalid, notification_preferences_update

# "80, 100", "80 100", "80%, 100%" and the full-width comma of Chinese input all read the same.
_SEPARATORS = re.compile(r"[\s,，、;；]+")


def parse_numbers(text: str) -> list[int]:
    """"80, 100" → [80, 100]; raises ValueError naming the first part that is not a number."""
    numbers = []
    for part in _SEPARATORS.split(text.replace("%", " ").replace("％", " ").strip()):
        if not part:
            continue
        if not part.isascii() or not part.isdigit():
            raise ValueError(part)
        numbers.append(int(part))
    return numbers


def format_numbers(values: list[int]) -> str:
    return ", ".join(str(value) for value in values)


class NotificationPreferencesForm(forms.Form):
    alerts = forms.BooleanField(
        label=gettext_lazy("Usage and expiry alerts"), required=False,
        help_text=gettext_lazy("An e-mail when a plan reaches the share of data or the days "
                               "before its end chosen below."))
    usage_thresholds = forms.CharField(
        label=gettext_lazy("Alert when this much data is used (percent)"), required=False,
        max_length=100, help_text=gettext_lazy("Up to five numbers from 1 to 100, for "
                                               "example 80, 100. Leave empty for none."))
    expiry_days = forms.CharField(
        label=gettext_lazy("Alert this many days before a plan ends"), required=False,
        max_length=100, help_text=gettext_lazy("Up to five numbers from 1 to 30, for "
                                               "example 3, 1. Leave empty for none."))
    marketing = forms.BooleanField(
        label=gettext_lazy("News and offers"), required=False,
        help_text=gettext_lazy("Promotions and new plans, now and then."))

    def _numbers(self, name: str) -> list[int]:
        try:
            return parse_numbers(self.cleaned_data[name])
        except ValueError as error:
            raise forms.ValidationError(
                _("“%(value)s” is not a whole number. Write numbers separated by commas, "
                  "such as 80, 100.") % {"value": error.args[0]},
                code="not_a_number") from error

    def clean_usage_thresholds(self) -> list[int]:
        return self._numbers("usage_thresholds")

    def clean_expiry_days(self) -> list[int]:
        return self._numbers("expiry_days")


@login_required
def notification_preferences(request):
    user = request.user
    if request.method == "POST":
        form = NotificationPreferencesForm(request.POST)
        if form.is_valid():
            try:
                notification_preferences_update(user=user, **form.cleaned_data, now=utcnow())
            except PreferenceInvalid as error:
                form.add_error(error.field, str(error.message))
            else:
                messages.success(request, _("Your notification settings were saved."))
                return redirect("portal:notification_preferences")
    else:
        preferences = notification_preferences_get(user=user)
        form = NotificationPreferencesForm(initial={
            "alerts": preferences.alerts,
            "usage_thresholds": format_numbers(preferences.usage_thresholds),
            "expiry_days": format_numbers(preferences.expiry_days),
            "marketing": preferences.marketing,
        })
    return render(request, "portal/notifications/preferences.html", {"form": form})
