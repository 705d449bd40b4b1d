import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class BaseModel(models.Model):
    """Internal integer key for joins; an opaque ``public_id`` for URLs and the API."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ClockSlot(models.Model):
    """The last time a periodic sweep was enqueued.

    Several clocks may run (one per machine); a sweep is enqueued by whichever
    clock first moves ``last_run_at`` forward with a conditional update.
    """

    name = models.CharField(max_length=100, unique=True)
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class AuditEntry(models.Model):
    """One action taken by a member of staff: who, when, what, on which object, and the
    object's fields before and after. Append-only: a row is never changed or removed
    (the model refuses it, and on PostgreSQL a trigger refuses it too)."""

    at = models.DateTimeField(_("when"), db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("who"),
                              on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    # The actor's e-mail when it happened: it stays readable if the account changes.
    actor_label = models.CharField(_("who"), max_length=254, blank=True)
    action = models.CharField(_("action"), max_length=60, db_index=True)
    target_type = models.CharField(_("object type"), max_length=40)
    target_id = models.CharField(_("object id"), max_length=64, db_index=True)
    target_label = models.CharField(_("object"), max_length=200, blank=True)
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    # The one-time token of the form that asked for the action: a form sent twice
    # (a double click, a resent request) is one action.
    key = models.CharField(_("request key"), max_length=64, null=True, blank=True,
                           unique=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_label}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("the audit log is append-only")
