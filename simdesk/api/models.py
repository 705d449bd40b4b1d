"""Credentials for the REST API that are not a customer's: operator API keys."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from simdesk.core.models import BaseModel


class OperatorScope(models.TextChoices):
    """What an operator key may do; each operator operation names the one it needs."""

    USAGE_WRITE = "usage:write", _("Send usage records")
    CARDS_READ = "cards:read", _("Look up cards")
    CARDS_ADMIN = "cards:admin", _("Import, suspend and resume cards")
    ORDERS_READ = "orders:read", _("Look up orders")
    CATALOG_WRITE = "catalog:write", _("Manage plans")


class OperatorApiKey(BaseModel):
    """A key an operator's system sends as ``Authorization: Bearer sdo_<prefix>_<secret>``.

    Only the SHA-256 of the whole key is kept: the secret is random and long, so a
    slow password hash would add nothing but latency to every call. The prefix finds
    the row; the hash is compared in constant time.
    """

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    key_hash = models.CharField(_("key hash (SHA-256)"), max_length=64)
    scopes = models.JSONField(_("scopes"), default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+", verbose_name=_("created by"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("operator API key")
        verbose_name_plural = _("operator API keys")

    def __str__(self) -> str:
        return f"{self.name} (sdo_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])
