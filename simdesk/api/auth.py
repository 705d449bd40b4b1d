"""Who is calling: a personal access token, or the browser session.

``auth=customer_auth`` on an operation accepts either. ``request.auth`` is the
User in both cases; ``request.access_token`` is the token when one was used.

The session is a cookie the browser sends by itself, so an unsafe method
(POST, PUT, PATCH, DELETE) from a session must carry the CSRF token — the
same rule as the portal's forms. A bearer token is never sent implicitly and
needs no CSRF check.
"""

import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from simdesk.accounts.tokens import token_authenticate
from simdesk.core.clock import utcnow
from simdesk.core.errors import RateLimited

from .errors import Forbidden

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/m"`` → (600, 60)."""
    count, _sep, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[:1] or "m"]


def _rate_limit(key: str) -> None:
    """Count one call in the current fixed window; RateLimited once over the limit."""
    limit, window = parse_rate(getattr(settings, "API_RATE_LIMIT", "600/m"))
    now = time.time()
    slot = int(now) // window
    cache_key = f"api:rate:{key}:{slot}"
    cache.add(cache_key, 0, timeout=window + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # the key expired between add and incr
        cache.set(cache_key, 1, timeout=window + 5)
        count = 1
    if count > limit:
        error = RateLimited(_("Too many requests with this token. Please wait and try again."))
        error.retry_after = math.ceil((slot + 1) * window - now)
        raise error


class TokenAuth(HttpBearer):
    """``Authorization: Bearer sdk_<prefix>_<secret>``, rate limited per token."""

    def authenticate(self, request: HttpRequest, token: str):
        access_token = token_authenticate(plaintext=token, now=utcnow())
        if access_token is None:
            return None
        _rate_limit(f"token:{access_token.pk}")
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
