"""Signatures of the sandbox's webhooks: HMAC-SHA256 over "<timestamp>.<body>".

Header: ``Sandbox-Signature: t=<unix seconds>,v1=<hex digest>``. The receiver
recomputes the digest with the shared secret, compares in constant time, and
refuses timestamps outside the replay window, so a captured delivery cannot be
replayed later (and within the window the unique event id makes it harmless).
"""

import hashlib
import hmac
from datetime import datetime

from django.conf import settings
from django.utils.crypto import salted_hmac

from ..base import WebhookSignatureError

SIGNATURE_HEADER = "Sandbox-Signature"


def webhook_secret() -> bytes:
    configured = getattr(settings, "SANDBOX_WEBHOOK_SECRET", "")
    if configured:
        return configured.encode()
    # Development default: stable for one installation, different between them.
    return salted_hmac("simdesk.payments.sandbox.webhook", "webhook-secret").hexdigest().encode()


def sign(*, body: bytes, timestamp: int, secret: bytes | None = None) -> str:
    digest = hmac.new(secret or webhook_secret(), f"{timestamp}.".encode() + body,
                      hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(*, header: str | None, body: bytes, now: datetime,
           tolerance_seconds: int | None = None) -> int:
    """Return the signed timestamp, or raise WebhookSignatureError."""
    if not header:
        raise WebhookSignatureError(f"missing {SIGNATURE_HEADER} header")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError, IndexError):
        raise WebhookSignatureError("signature header without a valid timestamp") from None
    expected = sign(body=body, timestamp=timestamp).partition(",v1=")[2]
    if not any(hmac.compare_digest(expected.encode(), candidate.encode())
               for candidate in parts.get("v1", [])):
        raise WebhookSignatureError("signature does not match")
    tolerance = (tolerance_seconds if tolerance_seconds is not None
                 else settings.SANDBOX_WEBHOOK_TOLERANCE_SECONDS)
    if abs(now.timestamp() - timestamp) > tolerance:
        raise WebhookSignatureError("timestamp outside the replay window")
    return timestamp
