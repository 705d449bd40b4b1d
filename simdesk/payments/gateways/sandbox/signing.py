"""Signatures of the sandbox's webhooks: the scheme of ``simdesk.core.signatures``.

Header: ``Sandbox-Signature: t=<unix seconds>,v1=<hex digest>``. The receiver
recomputes the digest with the shared secret, compares in constant time, and
refuses timestamps outside the replay window, so a captured delivery cannot be
replayed later (and within the window the unique event id makes it harmless).
"""

from datetime import datetime

from django.conf import settings
from django.utils.crypto import salted_hmac

from simdesk.core import signatures

from ..base import WebhookSignatureError

SIGNATURE_HEADER = "Sandbox-Signature"


def webhook_secret() -> bytes:
    configured = getattr(settings, "SANDBOX_WEBHOOK_SECRET", "")
    if configured:
        return configured.encode()
    # Development default: stable for one installation, different between them.
    return salted_hmac("simdesk.payments.sandbox.webhook", "webhook-secret").hexdigest().encode()


def sign(*, body: bytes, timestamp: int, secret: bytes | None = None) -> str:
    return signatures.sign(secret=secret or webhook_secret(), body=body, timestamp=timestamp)


def verify(*, header: str | None, body: bytes, now: datetime,
           tolerance_seconds: int | None = None) -> int:
    """Return the signed timestamp, or raise WebhookSignatureError."""
    tolerance = (tolerance_seconds if tolerance_seconds is not None
                 else settings.SANDBOX_WEBHOOK_TOLERANCE_SECONDS)
    try:
        return signatures.verify(secret=webhook_secret(), body=body, header=header,
                                 now=now.timestamp(), tolerance_seconds=tolerance,
                                 header_name=SIGNATURE_HEADER)
    except signatures.SignatureError as error:
        raise WebhookSignatureError(str(error)) from None
