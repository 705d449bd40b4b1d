"""django-axes hooks: which name a failed login counts against, and the lockout answer."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def username_from_request(request, credentials):
    """allauth authenticates with ``email=``; its login form posts ``login``."""
    credentials = credentials or {}
    value = (
        credentials.get("email")
        or credentials.get("username")
        or request.POST.get("login")
        or request.POST.get("email")
        or ""
    )
    return value.strip().lower()


def lockout_response(request, credentials, *args, **kwargs):
    minutes = int(settings.AXES_COOLOFF_TIME * 60)
    message = _(
        "Too many failed sign-in attempts. Please try again in %(minutes)d minutes "
        "or reset your password."
    ) % {"minutes": minutes}
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "type": "about:blank",
                "title": _("Too many attempts"),
                "status": 429,
                "code": "locked_out",
                "detail": message,
            },
            status=429,
            content_type="application/problem+json",
        )
    return render(request, "account/lockout.html", {"message": message}, status=429)
