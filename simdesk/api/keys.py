"""Operator API keys: issue one (its plaintext is shown once), revoke it, check a presented key."""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import ServiceError

from .models import OperatorApiKey, OperatorScope

KEY_PREFIX = "sdo_"
# last_used_at is for people ("is this key still in use?"): one write a minute is plenty,
# and saves a row update on every call from a busy integration.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def operator_key_scopes_clean(scopes) -> list[str]:
    """The scopes, checked against the fixed vocabulary, sorted and without duplicates."""
    wanted = sorted({str(scope).strip() for scope in scopes or []})
    unknown = [scope for scope in wanted if scope not in OperatorScope.values]
    if unknown:
        raise ServiceError(_("Unknown scope: %(scopes)s. Choose from %(known)s.")
                           % {"scopes": ", ".join(unknown),
                              "known": ", ".join(OperatorScope.values)}, code="unknown_scope")
    if not wanted:
        raise ServiceError(_("Choose at least one scope for the key."), code="no_scope")
    return wanted


def operator_key_create(*, name: str, scopes, created_by, now: datetime
                        ) -> tuple[OperatorApiKey, str]:
    """Issue a key named ``name`` with ``scopes`` for staff user ``created_by``; returns the
    row and the plaintext ``sdo_<prefix>_<secret>``, which is stored only as a SHA-256
    hash and cannot be shown again. Each call issues a new key (not idempotent)."""
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("Give the key a name, e.g. the system that will use it."),
                           code="name_missing")
    if not getattr(created_by, "is_staff", False):
        raise ServiceError(_("Only staff can issue operator keys."), code="not_staff",
                           status=403)
    clean = operator_key_scopes_clean(scopes)
    with transaction.atomic():
        while True:
            prefix = secrets.token_hex(4)
            if not OperatorApiKey.objects.filter(prefix=prefix).exists():
                break
        token = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        key = OperatorApiKey.objects.create(name=name[:100], prefix=prefix,
                                            key_hash=_hash(token), scopes=clean,
                                            created_by=created_by)
    return key, token


def operator_key_revoke(*, key: OperatorApiKey, now: datetime) -> OperatorApiKey:
    """Revoke ``key``: from now on it is refused (401). Safe to call twice (the first
    revocation time stays)."""
    OperatorApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=now, updated_at=now)
    key.refresh_from_db(fields=["revoked_at", "updated_at"])
    return key


def operator_key_authenticate(*, token: str, now: datetime) -> OperatorApiKey | None:
    """The active key ``token`` is, or None (malformed, unknown, wrong secret or revoked).
    Notes when it was last used (at most once a minute)."""
    token = (token or "").strip()
    if not token.startswith(KEY_PREFIX):
        return None
    prefix, sep, secret = token[len(KEY_PREFIX):].partition("_")
    if not sep or not prefix or not secret or len(prefix) > 16:
        return None
    key = OperatorApiKey.objects.filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.key_hash, _hash(token)):
        return None
    if key.revoked_at is not None:
        return None
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        OperatorApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
