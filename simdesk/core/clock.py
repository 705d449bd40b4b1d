"""Time helpers. Services take ``now`` as an argument; only interfaces call ``utcnow``."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
