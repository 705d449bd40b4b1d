"""Timestamped webhook signatures: ``t=<unix seconds>,v1=<hex digest>``, where the digest
is HMAC-SHA256 of ``f"{t}."`` followed by the raw body, keyed with a shared secret.

The scheme of simdesk's outgoing webhooks and of the sandbox gateway's. ``verify``
needs nothing outside the Python standard library, so a receiver may copy it as it is.
"""

import hashlib
import hmac


class SignatureError(ValueError):
    """The signature is missing, malformed, wrong, or too old."""


def _digest(secret: bytes, body: bytes, timestamp: int) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(*, secret: bytes, body: bytes, timestamp: int) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={_digest(secret, body, timestamp)}"


def verify(*, secret: bytes, body: bytes, header: str | None, now: float,
           tolerance_seconds: int, header_name: str = "signature") -> int:
    """Check a received signature header against ``body`` at ``now`` (unix seconds);
    return its timestamp or raise ``SignatureError``. Any of several ``v1`` values may
    match (a sender rotating its secret signs with both); a timestamp more than
    ``tolerance_seconds`` away from ``now`` is refused, so a captured request cannot be
    replayed later."""
    if not header:
        raise SignatureError(f"missing {header_name} header")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, IndexError, ValueError):
        raise SignatureError("signature header without a valid timestamp") from None
    expected = _digest(secret, body, timestamp).encode()
    if not any(hmac.compare_digest(expected, candidate.encode())
               for candidate in parts.get("v1", [])):
        raise SignatureError("signature does not match")
    if abs(now - timestamp) > tolerance_seconds:
        raise SignatureError("timestamp outside the tolerance")
    return timestamp
