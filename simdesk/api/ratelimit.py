"""Rate limits of the API: fixed windows counted in the Django cache.

Who is counted, and against which setting:

- a personal access token or an operator key: ``API_RATE_LIMIT`` per credential,
  counted when the credential is checked (``simdesk.api.auth``);
- a signed-in browser session: ``API_RATE_LIMIT`` per user;
- a caller without credentials (the public plan pages): ``API_ANONYMOUS_RATE_LIMIT``
  per client address.

Every call is counted exactly once, so a list and a detail cost the same. Over the
limit the answer is 429 ``rate_limited`` with ``Retry-After`` (seconds to the next
window). A rate is ``"<count>/<s|m|h|d>"``; ``"off"`` switches counting off (for a
benchmark of the bare request path; never in production).
"""

import math
import threading
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja.throttling import BaseThrottle

from simdesk.core.errors import RateLimited

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
OFF = "off"


def parse_rate(rate: str) -> tuple[int, int] | None:
    """``"600/m"`` → (600, 60); ``"off"`` → None."""
    rate = (rate or "").strip().lower()
    if rate == OFF:
        return None
    count, _sep, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[:1] or "m"]


def _redis_client(backend: RedisCache):
    """One redis-py client per cache backend. Django's ``get_client()`` builds a new one
    on every call, and building it (its table of reply parsers) cost more CPU than the
    round trip itself. Writes always go to the first server, as Django's do."""
    client = getattr(backend, "_rate_limit_client", None)
    if client is None:
        client = backend._cache.get_client(write=True)
        backend._rate_limit_client = client
    return client


def _count_in_window(cache_key: str, *, timeout: int) -> int:
    """Add one to a window's counter and return the new count.

    Every token call pays this, so on Redis it is one INCR; the call that creates the
    counter also gives it its expiry. (Were a process to die between the two, the
    counter would only outlive its window: windows are in the key, none is reused.)
    The key is made as the cache makes its own, so ``cache.get`` reads the same
    counter. Other caches take the portable add-then-incr."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        key = backend.make_and_validate_key(cache_key)
        client = _redis_client(backend)
        count = client.incr(key)
        if count == 1:
            client.expire(key, timeout)
        return count
    backend.add(cache_key, 0, timeout=timeout)
    try:
        return backend.incr(cache_key)
    except ValueError:  # the key expired between add and incr
        backend.set(cache_key, 1, timeout=timeout)
        return 1


def rate_limit_count(key: str, *, rate: str) -> float | None:
    """Count one call for ``key`` in the current window of ``rate``; the seconds until
    the window ends once the call is over the limit, else None."""
    parsed = parse_rate(rate)
    if parsed is None:
        return None
    limit, window = parsed
    now = time.time()
    slot = int(now) // window
    count = _count_in_window(f"api:rate:{key}:{slot}", timeout=window + 5)
    if count > limit:
        return max(1, math.ceil((slot + 1) * window - now))
    return None


def rate_limit(key: str, *, rate: str) -> None:
    """Count one call for ``key``; RateLimited (with ``retry_after``) once over ``rate``."""
    wait = rate_limit_count(key, rate=rate)
    if wait is not None:
        error = RateLimited(_("Too many requests with this token. Please wait and try again."))
        error.retry_after = wait
        raise error


class CallerThrottle(BaseThrottle):
    """The API-wide throttle for calls a credential check has not counted already:
    a signed-in session (per user) and an anonymous caller (per address)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        self._local.wait = None
        if getattr(request, "rate_counted", False):
            return True
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            key, rate = f"user:{user.pk}", settings.API_RATE_LIMIT
        else:
            key = f"ip:{self.get_ident(request) or 'unknown'}"
            rate = settings.API_ANONYMOUS_RATE_LIMIT
        self._local.wait = rate_limit_count(key, rate=rate)
        return self._local.wait is None

    def wait(self) -> float | None:
        return getattr(self._local, "wait", None)
