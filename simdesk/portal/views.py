import zoneinfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from simdesk.accounts.services import LANGUAGE_CODES, user_set_language, user_update_preferences
from simdesk.core.errors import ServiceError

from .forms import PreferencesForm


def home(request):
    return render(request, "portal/home.html")


@login_required
def account_settings(request):
    user = request.user
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            try:
                user_update_preferences(user=user, **form.cleaned_data)
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                # Confirm in the language just chosen: the next page is shown in it.
                with translation.override(user.language):
                    messages.success(request, _("Your preferences were saved."))
                response = redirect("portal:settings")
                response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language,
                                    samesite="Lax", max_age=365 * 24 * 3600)
                return response
    else:
        form = PreferencesForm(initial={
            "language": user.language or request.LANGUAGE_CODE,
            "time_zone": user.time_zone,
            "currency": user.currency or settings.DEFAULT_CURRENCY,
        })
    return render(request, "portal/settings.html", {
        "form": form,
        "time_zones": sorted(zoneinfo.available_timezones()),
    })


@require_POST
def set_language(request):
    """Django's language switch (cookie + safe redirect), remembered for signed-in users."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in LANGUAGE_CODES:
        user_set_language(user=request.user, language=language)
    return response
