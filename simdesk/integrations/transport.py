"""How a webhook travels to an endpoint: one small interface, plain HTTP by default.

``UrllibTransport`` POSTs with the standard library, follows no redirect (a 3xx
is an answer like any other non-2xx: the delivery is retried and staff see the
status) and ignores proxy settings from the environment, so what staff
configured is exactly where the request goes.
"""

import abc
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.module_loading import import_string

READ_LIMIT = 2000  # bytes of the answer kept for staff


class TransportError(Exception):
    """The request got no HTTP answer (refused, timed out, bad address…)."""


class WebhookTransport(abc.ABC):
    @abc.abstractmethod
    def post(self, *, url: str, body: bytes, headers: dict[str, str],
             timeout: float) -> tuple[int, str]:
        """POST ``body``; return (HTTP status, start of the answer), or raise TransportError."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the 3xx comes back as an HTTPError and is recorded as such


class UrllibTransport(WebhookTransport):
    # Building an opener costs about as much as a local request; one serves every thread
    # (it keeps no per-request state).
    _opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    def post(self, *, url: str, body: bytes, headers: dict[str, str],
             timeout: float) -> tuple[int, str]:
        if urlsplit(url).scheme not in ("http", "https"):
            raise TransportError(f"refusing to post to {url!r}: not http or https")
        request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310
                                         headers={**headers, "User-Agent": "simdesk-webhooks"})
        try:
            with self._opener.open(request, timeout=timeout) as response:
                return response.status, _excerpt(response)
        except urllib.error.HTTPError as error:
            return error.code, _excerpt(error)
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise TransportError(f"{type(error).__name__}: {error}") from error


def _excerpt(response) -> str:
    try:
        return response.read(READ_LIMIT).decode("utf-8", errors="replace")
    except OSError:
        return ""


def get_transport() -> WebhookTransport:
    path = getattr(settings, "WEBHOOK_TRANSPORT",
                   "simdesk.integrations.transport.UrllibTransport")
    return import_string(path)()
