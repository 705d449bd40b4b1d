"""Who is calling: a personal access token, or the browser session.

``auth=customer_auth`` on an operation accepts either. ``request.auth`` is the
User in both cases; ``request.access_token`` is the token when one was used.

The session is a cookie the browser sends by itself, so an unsafe method
(POST, PUT, PATCH, DELETE) from a session must carry the CSRF token — the
same rule as the portal's forms. A bearer token is never sent implicitly and
needs no CSRF check.
"""

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from simdesk.accounts.tokens import token_authenticate
from simdesk.core.clock import utcnow

from .errors import Forbidden
from .ratelimit import rate_limit

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def _rate_limit(key: str) -> None:
    """Count one call of a credential (token or operator key) against API_RATE_LIMIT."""
    rate_limit(key, rate=settings.API_RATE_LIMIT)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer sdk_<prefix>_<secret>``, rate limited per token."""

    def authenticate(self, request: HttpRequest, token: str):
        access_token = token_authenticate(plaintext=token, now=utcnow())
        if access_token is None:
            return None
        _rate_limit(f"token:{access_token.pk}")
        request.rate_counted = True
        request.access_token = access_token
        request.user = access_token.user
        # Same rule as a session on the API: Accept-Language wins, else the saved language.
        if access_token.user.language and not request.headers.get("Accept-Language"):
            translation.activate(access_token.user.language)
            request.LANGUAGE_CODE = translation.get_language()
        return access_token.user


class SessionAuth(APIKeyCookie):
    """The signed-in browser session, with the CSRF check on unsafe methods.

    Unlike ninja's cookie auth, an anonymous caller is answered 401, not 403:
    CSRF is checked only once there is a session user to protect.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=False)

    def authenticate(self, request: HttpRequest, key: str | None):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise Forbidden(_("CSRF check failed. Reload the page and try again, or use an "
                              "access token."), code="csrf_failed")
        request.access_token = None
        return user


token_auth = TokenAuth()
session_auth = SessionAuth()
customer_auth = [token_auth, session_auth]
