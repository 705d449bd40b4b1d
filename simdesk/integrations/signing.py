"""Signatures of outgoing webhooks: HMAC-SHA256 over "<timestamp>.<body>".

Every request carries ``Simdesk-Signature: t=<unix seconds>,v1=<hex digest>``,
where the digest is ``hmac_sha256(secret, f"{t}.{body}")`` over the raw request
body exactly as received (do not parse and re-serialise the JSON first) and
``secret`` is the endpoint's signing secret (``whsec_…``) as UTF-8 bytes.

A receiver verifies it like ``verify_signature`` below, whose work is done by
``simdesk.core.signatures.verify``: it has no dependency outside the Python standard
library and may be copied as it is:

1. split the header on "," into ``t`` and one or more ``v1`` values;
2. compute the digest for ``t`` and compare it with each ``v1`` in constant time;
3. refuse a ``t`` more than a tolerance (five minutes by default) away from its
   own clock, so a captured request cannot be replayed later;
4. within that window, use ``Simdesk-Event-Id`` (equal to the body's ``id``) to
   ignore a delivery it has already processed: a retry after a lost answer
   repeats the same event.
"""

import time

from simdesk.core import signatures
from simdesk.core.signatures import SignatureError

SIGNATURE_HEADER = "Simdesk-Signature"
DEFAULT_TOLERANCE_SECONDS = 300

__all__ = ["DEFAULT_TOLERANCE_SECONDS", "SIGNATURE_HEADER", "SignatureError", "sign",
           "verify_signature"]


def sign(*, secret: str, body: bytes, timestamp: int) -> str:
    """The ``Simdesk-Signature`` header value for ``body`` sent at ``timestamp``."""
    return signatures.sign(secret=secret.encode(), body=body, timestamp=timestamp)


def verify_signature(*, secret: str, body: bytes, header: str | None,
                     tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
                     now: float | None = None) -> int:
    """Check a received ``Simdesk-Signature`` header; return its timestamp or raise
    ``SignatureError``. ``now`` is unix seconds (default: the current time)."""
    return signatures.verify(secret=secret.encode(), body=body, header=header,
                             now=time.time() if now is None else now,
                             tolerance_seconds=tolerance_seconds,
                             header_name=SIGNATURE_HEADER)
