import sys

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    """200 while the database answers, 503 otherwise (for load balancers and probes)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 — any database failure means "not healthy"
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def csrf_failure(request, reason=""):
    """A form sent without a valid CSRF token: 403 in the site's layout and the visitor's
    language, saying what to do (Django's own page is English, technical and styled
    inline, which the Content-Security-Policy blocks). ``reason`` is logged by Django."""
    return render(request, "403_csrf.html", status=403)


#: Seconds a client is asked to wait when the database cannot be reached.
UNAVAILABLE_RETRY_AFTER = 15


def server_error(request):
    """``handler500``. A database that cannot be reached (a restart, a failover) is not a
    fault of the request: the answer is 503 with ``Retry-After``, a problem document for
    the API and webhooks (gateways retry on it), a short page for people. Neither touches
    the database. Anything else is Django's 500."""
    if not isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return defaults.server_error(request)
    if request.path.startswith(("/api/", "/webhooks/")):
        response = JsonResponse(
            {"type": "about:blank", "title": _("Service unavailable"), "status": 503,
             "detail": _("The service is briefly unavailable. Try again in a few seconds."),
             "code": "unavailable"},
            status=503, content_type="application/problem+json")
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response
