"""How the sandbox's webhooks travel to simdesk: one small transport interface.

``UrllibTransport`` (the default) POSTs over real HTTP to ``settings.SITE_URL``,
as a vendor would. ``DjangoClientTransport`` hands the request to this process's
WSGI application through Django's test client, so the whole request path
(middleware, URL routing, the webhook view) runs without a socket: the test
suite uses it, and so can a benchmark.
"""

import abc
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone, translation
from django.utils.module_loading import import_string


class TransportError(Exception):
    """The request did not get an HTTP answer (refused, timed out…)."""


class WebhookTransport(abc.ABC):
    @abc.abstractmethod
    def post(self, *, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        """POST ``body`` to ``url``; return the HTTP status, or raise TransportError."""


class UrllibTransport(WebhookTransport):
    def post(self, *, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        if urlsplit(url).scheme not in ("http", "https"):
            raise TransportError(f"refusing to post to {url!r}")
        request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310
                                         headers={**headers, "User-Agent": "simdesk-sandbox"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except (urllib.error.URLError, OSError) as error:
            raise TransportError(str(error)) from error


class DjangoClientTransport(WebhookTransport):
    def post(self, *, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        from django.test import Client

        parts = urlsplit(url)
        # The nested request activates its own language and time zone in this
        # thread; put back the caller's (e.g. a pay page rendering in Chinese).
        language, zone = translation.get_language(), timezone.get_current_timezone_name()
        try:
            response = Client(SERVER_NAME=parts.hostname or "testserver",
                              SERVER_PORT=str(parts.port or 80)).post(
                parts.path, data=body, content_type=headers.get("Content-Type",
                                                                "application/json"),
                headers={k: v for k, v in headers.items() if k != "Content-Type"},
            )
        finally:
            translation.activate(language) if language else translation.deactivate()
            timezone.activate(zone)
        return response.status_code


def get_transport() -> WebhookTransport:
    return import_string(settings.SANDBOX_WEBHOOK_TRANSPORT)()
