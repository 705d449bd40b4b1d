"""The client's address behind a reverse proxy, in one place.

Rate limits, lockouts and audit rows key on ``REMOTE_ADDR``. Behind a proxy that is the
proxy's own address (every customer would share one login and reset budget), so with
``TRUSTED_PROXY_COUNT`` = n (the proxies in front of the app, usually 1) this middleware
replaces it with the address the outermost trusted proxy saw: the n-th entry from the
right of ``X-Forwarded-For``. Entries further left were written by the client and are
never trusted. With 0 (the default: no proxy) ``X-Forwarded-For`` is ignored entirely,
so a client cannot choose its own address by sending the header.
"""

from ipaddress import ip_address

from django.conf import settings


def client_address(meta: dict, proxies: int) -> str:
    """The client's address from a request's META, given ``proxies`` trusted proxies."""
    remote = meta.get("REMOTE_ADDR", "")
    if proxies <= 0:
        return remote
    hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if hop.strip()]
    if len(hops) < proxies:
        return remote  # not (all the way) through the proxies: the peer is the client
    candidate = hops[-proxies]
    try:
        return str(ip_address(candidate))
    except ValueError:
        return remote


class ClientAddressMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))

    def __call__(self, request):
        if self.proxies > 0:
            request.META["REMOTE_ADDR"] = client_address(request.META, self.proxies)
        return self.get_response(request)
