"""Content-Security-Policy: every response says which sources its page may use.

The policy allows this site's own scripts, styles and images (plus ``data:``
images) and nothing inline: no ``<script>`` or ``<style>`` blocks, no ``style="…"``
attributes, no ``on…=`` handlers (so an injected fragment cannot run). Pages
cannot be framed (``frame-ancestors 'none'``). Forms post to this site, or on to
the payer pages of the real gateways (checkout's pay form is answered with a
redirect to PayPal or Alipay, and ``form-action`` covers the redirects after a
submission too).

A view that needs more (the Stripe pay page loads Stripe.js and its frames)
widens the policy for its own responses with :func:`csp_allow`; every other page
keeps the base policy.
"""

from collections.abc import Callable, Iterable
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings

HEADER = "Content-Security-Policy"

BASE_POLICY: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "object-src": ("'none'",),
    "base-uri": ("'self'",),
    "frame-ancestors": ("'none'",),
    "form-action": ("'self'",),
}

# Where a customer's browser is sent to approve a payment, by gateway setting.
PAYPAL_PAYER_HOSTS = {"live": "https://www.paypal.com", "sandbox": "https://www.sandbox.paypal.com"}
ALIPAY_PAYER_HOSTS = {True: "https://openapi-sandbox.dl.alipaydev.com",
                      False: "https://openapi.alipay.com"}

Sources = Iterable[str] | Callable[[], Iterable[str]]


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, or "" for an empty or relative one."""
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def gateway_form_targets() -> list[str]:
    """The payer pages checkout's pay form may end on: the configured PayPal and Alipay
    environments, or the address that replaces them (a test peer)."""
    gateways = set(getattr(settings, "PAYMENT_GATEWAYS", ()))
    targets = []
    if "paypal" in gateways:
        targets.append(origin(settings.PAYPAL_API_BASE)
                       or PAYPAL_PAYER_HOSTS.get(settings.PAYPAL_ENVIRONMENT,
                                                 PAYPAL_PAYER_HOSTS["live"]))
    if "alipay" in gateways:
        targets.append(origin(settings.ALIPAY_API_BASE)
                       or ALIPAY_PAYER_HOSTS[bool(settings.ALIPAY_SANDBOX)])
    return targets


def policy_header(extra: dict[str, tuple[str, ...]] | None = None) -> str:
    """The header's value: the base policy, the gateways' payer pages in
    ``form-action``, and ``extra`` sources added to their directives."""
    policy = {name: list(sources) for name, sources in BASE_POLICY.items()}
    policy["form-action"] += gateway_form_targets()
    for name, sources in (extra or {}).items():
        current = policy.setdefault(name, list(policy["default-src"]))
        current += [source for source in sources if source and source not in current]
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in policy.items())


def csp_allow(**directives: Sources):
    """Widen the policy for one view's responses: ``@csp_allow(script_src=[…])``.

    Keyword names are directives with ``_`` for ``-``; each value is a list of
    sources, or a callable returning one (read at request time, e.g. from settings).
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            extra = dict(getattr(response, "csp_extra", {}))
            for key, sources in directives.items():
                name = key.replace("_", "-")
                values = sources() if callable(sources) else sources
                extra[name] = tuple(extra.get(name, ())) + tuple(values)
            response.csp_extra = extra
            return response

        return wrapped

    return decorator


class ContentSecurityPolicyMiddleware:
    """Sets the policy on every response that has none yet."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = policy_header(getattr(response, "csp_extra", None))
        return response
