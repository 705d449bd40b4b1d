"""Operator authentication: ``Authorization: Bearer sdo_<prefix>_<secret>`` plus one scope."""

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja.security import HttpBearer

from simdesk.api.auth import _rate_limit
from simdesk.api.errors import Forbidden
from simdesk.api.keys import operator_key_authenticate
from simdesk.api.models import OperatorApiKey, OperatorScope
from simdesk.core.clock import utcnow


class OperatorKeyAuth(HttpBearer):
    """A valid, unrevoked operator key holding ``scope``.

    An unknown, malformed or revoked key is 401 (the caller is not known); a valid key
    without the scope is 403 ``insufficient_scope`` (known, but not allowed).
    """

    openapi_scheme = "bearer"

    def __init__(self, scope: str):
        if scope not in OperatorScope.values:
            raise ValueError(f"unknown operator scope {scope!r}")
        self.scope = scope
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> OperatorApiKey | None:
        key = operator_key_authenticate(token=token, now=utcnow())
        if key is None:
            return None
        if not key.has_scope(self.scope):
            raise Forbidden(_("This API key lacks the scope %(scope)s. Ask staff for a key "
                              "with it.") % {"scope": self.scope}, code="insufficient_scope")
        # The same per-credential window as personal tokens.
        _rate_limit(f"operator:{key.pk}")
        request.rate_counted = True
        return key


def operator_auth(scope: str) -> OperatorKeyAuth:
    return OperatorKeyAuth(scope)
