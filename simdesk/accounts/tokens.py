"""Personal access tokens: create (shown once), authenticate, revoke.

A token reads ``sdk_<prefix>_<secret>``. The prefix (8 hex characters) is stored
in clear and unique; the secret only as its SHA-256, so a leaked database does
not leak working tokens.
"""

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta
from functools import cache

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from simdesk.accounts.models import PersonalAccessToken
from simdesk.core.errors import NotFound, ServiceError
from simdesk.core.rows import (
    column,
    column_count,
    fetch_all,
    model_columns,
    model_from_row,
    table,
)

TOKEN_SCHEME = "sdk"  # noqa: S105 (the token format's scheme, not a secret)
MAX_ACTIVE_TOKENS = 20
#: ``last_used_at`` is a hint for the customer, not an audit log: writing it on
#: every call would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def tokens_for_user(*, user) -> QuerySet[PersonalAccessToken]:
    """The user's tokens that still work, newest first."""
    return PersonalAccessToken.objects.filter(user=user, revoked_at__isnull=True)


def token_create(*, user, name: str, now: datetime) -> tuple[PersonalAccessToken, str]:
    """Create a token for ``user`` and return it with its plaintext.

    The plaintext is returned only here and never stored; calling twice creates
    two tokens. A user may hold at most MAX_ACTIVE_TOKENS working tokens.
    """
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("Give the token a name, so you can recognise it later."),
                           code="token_name_required")
    if len(name) > 100:
        raise ServiceError(_("A token name may be at most 100 characters."),
                           code="token_name_too_long")
    with transaction.atomic():
        if tokens_for_user(user=user).count() >= MAX_ACTIVE_TOKENS:
            raise ServiceError(
                _("You already have %(count)d tokens. Revoke one you no longer use first.")
                % {"count": MAX_ACTIVE_TOKENS}, code="too_many_tokens")
        prefix = secrets.token_hex(4)
        while PersonalAccessToken.objects.filter(prefix=prefix).exists():
            prefix = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        token = PersonalAccessToken.objects.create(
            user=user, name=name, prefix=prefix, token_hash=_hash(secret), created_at=now)
    return token, f"{TOKEN_SCHEME}_{prefix}_{secret}"


@cache
def _token_sql(vendor: str) -> str:
    """The working token with a prefix, and its user (one row: the prefix is unique)."""
    token, user = PersonalAccessToken, PersonalAccessToken._meta.get_field("user").related_model
    # Identifiers come from the models' metadata; the prefix is a parameter.
    return (f"SELECT {model_columns(token, 't')}, {model_columns(user, 'u')} "  # noqa: S608
            f"FROM {table(token, 't')} INNER JOIN {table(user, 'u')} "
            f"ON {column(user, 'u', 'pk')} = {column(token, 't', 'user')} "
            f"WHERE {column(token, 't', 'prefix')} = %s "
            f"AND {column(token, 't', 'revoked_at')} IS NULL")


def _working_token_with_user(*, prefix: str) -> PersonalAccessToken | None:
    """The unrevoked token with ``prefix``, its user loaded, in one query.

    Written as SQL, not a queryset: it runs on every token call, where compiling the
    ORM's join cost several times more than running it (bench/api_balance.sh)."""
    rows = fetch_all(_token_sql(connection.vendor), [prefix])
    if not rows:
        return None
    [row] = rows
    token = model_from_row(PersonalAccessToken, row)
    user_model = PersonalAccessToken._meta.get_field("user").related_model
    token.user = model_from_row(user_model, row, column_count(PersonalAccessToken))
    return token


def token_authenticate(*, plaintext: str, now: datetime) -> PersonalAccessToken | None:
    """The working token ``plaintext`` names, or None.

    Looked up by prefix, then the secret's hash compared in constant time; a
    revoked token, an inactive user or any malformed value gives None.
    """
    parts = (plaintext or "").split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_SCHEME or not parts[1] or not parts[2]:
        return None
    token = _working_token_with_user(prefix=parts[1])
    if token is None:
        _hash(parts[2])  # similar work whether or not the prefix exists
        return None
    if not hmac.compare_digest(token.token_hash, _hash(parts[2])):
        return None
    if not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        PersonalAccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_revoke(*, user, token_public_id: str | uuid.UUID, now: datetime) -> PersonalAccessToken:
    """Revoke one of ``user``'s tokens; it stops working at once.

    Another user's token, or an unknown id, is NotFound. Revoking an already
    revoked token is a no-op that keeps the first revocation time (safe to repeat).
    """
    try:
        token_public_id = uuid.UUID(str(token_public_id))
    except ValueError:
        raise NotFound(_("No such token.")) from None
    with transaction.atomic():
        token = (PersonalAccessToken.objects.select_for_update()
                 .filter(user=user, public_id=token_public_id).first())
        if token is None:
            raise NotFound(_("No such token."))
        if token.revoked_at is None:
            token.revoked_at = now
            token.save(update_fields=["revoked_at"])
    return token
