"""One error shape for the whole API: RFC 9457 problem details.

Every refusal answers ``application/problem+json`` with
``{type, title, status, detail, code, errors?}``: ``code`` is stable for
programs, ``detail`` is written for people in the caller's language,
``errors`` names each invalid field.

The language, on the API: the site's language cookie if set (a choice made in
the footer), else the Accept-Language header; only when the caller sends no
Accept-Language does a signed-in customer's saved language apply (for a
session and for a token alike). A program that asks for a language gets it.
"""

import json
import math

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from simdesk.core.errors import RateLimited, ServiceError

PROBLEM_CONTENT_TYPE = "application/problem+json"
DEFAULT_RETRY_AFTER_SECONDS = 60


class Forbidden(ServiceError):
    """The caller is known but may not do this (a missing scope, a failed CSRF check)."""

    code = "forbidden"
    status = 403


class FieldErrorOut(Schema):
    field: str
    message: str


class ProblemOut(Schema):
    """The error document (RFC 9457), served as application/problem+json."""

    type: str
    title: str
    status: int
    detail: str = Field(description="For people, in the caller's language.")
    code: str = Field(description="Stable, for programs.")
    errors: list[FieldErrorOut] | None = None


def problem_responses(*statuses: int) -> dict[int, type[ProblemOut]]:
    """The refusals an operation documents:
    ``response={200: CardOut, **problem_responses(400, 401, 404)}``."""
    return {status: ProblemOut for status in statuses}


def _titles() -> dict[int, str]:
    return {
        400: _("Bad request"),
        401: _("Unauthorized"),
        403: _("Forbidden"),
        404: _("Not found"),
        405: _("Method not allowed"),
        409: _("Conflict"),
        413: _("Payload too large"),
        429: _("Too many requests"),
    }


def problem(status: int, *, code: str, detail: str, errors: list[dict] | None = None,
            headers: dict[str, str] | None = None) -> HttpResponse:
    """An RFC 9457 problem document (``type`` is about:blank: the status says it)."""
    body: dict = {
        "type": "about:blank",
        "title": _titles().get(status, _("Error")),
        "status": status,
        "detail": str(detail),
        "code": code,
    }
    if errors:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body, ensure_ascii=False), status=status,
                            content_type=PROBLEM_CONTENT_TYPE)
    response["Content-Language"] = get_language()
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_name(loc) -> str:
    """``("body", "payload", "iccid")`` → ``iccid``; ``("query", "limit")`` → ``limit``."""
    parts = [str(part) for part in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form", "file"}:
        source, parts = parts[0], parts[1:]
        # A JSON body is one schema parameter; its name is not a field the caller sent.
        if source == "body" and len(parts) > 1:
            parts = parts[1:]
    return ".".join(parts) or "body"


def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [{"field": _field_name(error.get("loc", ())), "message": str(error.get("msg", ""))}
              for error in exc.errors]
    fields = ", ".join(dict.fromkeys(error["field"] for error in errors))
    return problem(400, code="invalid_request",
                   detail=_("Some fields are missing or invalid: %(fields)s.") % {"fields": fields},
                   errors=errors)


def on_service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    headers = {}
    if isinstance(exc, RateLimited) or exc.status == 429:
        retry = getattr(exc, "retry_after", None) or DEFAULT_RETRY_AFTER_SECONDS
        headers["Retry-After"] = str(max(1, math.ceil(retry)))
    errors = getattr(exc, "errors", None)
    if not errors and getattr(exc, "field", None):  # e.g. notifications.PreferenceInvalid
        errors = [{"field": exc.field, "message": str(exc.message)}]
    return problem(exc.status, code=exc.code, detail=str(exc.message), errors=errors,
                   headers=headers)


def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem(401, code="not_authenticated",
                   detail=_("Sign in, or send a valid access token in the Authorization "
                            "header (Bearer sdk_…)."),
                   headers={"WWW-Authenticate": 'Bearer realm="simdesk"'})


def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    if status == 400:  # ninja's own: a body that is not valid JSON
        return problem(400, code="invalid_request",
                       detail=_("The request body could not be read. Send valid JSON."))
    if status == 403:
        return problem(403, code="forbidden", detail=_("You may not do this."))
    if status == 405:
        return problem(405, code="method_not_allowed",
                       detail=_("This address does not accept that method."))
    if status == 429:  # ninja's throttle (the wait is ninja's; see ratelimit.CallerThrottle)
        wait = getattr(exc, "wait", None) or DEFAULT_RETRY_AFTER_SECONDS
        return problem(429, code="rate_limited",
                       detail=_("Too many requests. Please wait and try again."),
                       headers={"Retry-After": str(max(1, math.ceil(wait)))})
    return problem(status, code="error", detail=_("The request could not be handled."))


def method_not_allowed(path_view) -> HttpResponse:
    """The 405 for a method no operation of ``path_view`` takes, with ``Allow``."""
    allowed = sorted({method for operation in path_view.operations
                      for method in operation.methods})
    return problem(405, code="method_not_allowed",
                   detail=_("This address does not accept that method."),
                   headers={"Allow": ", ".join(allowed)})


def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(404, code="not_found", detail=_("There is nothing at this address."))


def on_too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE (Django refuses to read it)."""
    return problem(413, code="too_large",
                   detail=_("The request body is too large: at most %(size)s bytes.")
                   % {"size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE})


def register_error_handlers(api: NinjaAPI) -> None:
    """Map every refusal to a problem document (ninja picks the nearest class in the MRO)."""
    api.add_exception_handler(ValidationError, on_validation_error)
    api.add_exception_handler(ServiceError, on_service_error)
    api.add_exception_handler(AuthenticationError, on_authentication_error)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(RequestDataTooBig, on_too_large)
