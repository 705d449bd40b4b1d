"""Signatures of outgoing webhooks: HMAC-SHA256 over "<timestamp>.<body>".

Every request carries ``Simdesk-Signature: t=<unix seconds>,v1=<hex digest>``,
where the digest is ``hmac_sha256(secret, f"{t}.{body}")`` over the raw request
body exactly as received (do not parse and re-serialise the JSON first) and
``secret`` is the endpoint's signing secret (``whsec_…``) as UTF-8 bytes.

A receiver verifies it like ``verify_signature`` below, which has no dependency
outside the Python standard library and may be copied as it is:

1. split the header on "," into ``t`` and one or more ``v1`` values;
2. compute the digest for ``t`` and compare it with each ``v1`` in constant time;
3. refuse a ``t`` more than a tolerance (five minutes by default) away from its
   own clock, so a captured request cannot be replayed later;
4. within that window, use ``Simdesk-Event-Id`` (equal to the body's ``id``) to
   ignore a delivery it has already processed: a retry after a lost answer
   repeats the same event.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Simdesk-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The signature is missing, malformed, wrong, or too old."""


def sign(*, secret: str, body: bytes, timestamp: int) -> str:
    """The ``Simdesk-Signature`` header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body,
                      hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(*, secret: str, body: bytes, header: str | None,
                     tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
                     now: float | None = None) -> int:
    """Check a received ``Simdesk-Signature`` header; return its timestamp or raise
    ``SignatureError``. ``now`` is unix seconds (default: the current time)."""
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, IndexError, ValueError):
        raise SignatureError("signature header without a valid timestamp") from None
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body,
                        hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected.encode(), candidate.encode())
               for candidate in parts.get("v1", [])):
        raise SignatureError("signature does not match")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise SignatureError("timestamp outside the tolerance")
    return timestamp
