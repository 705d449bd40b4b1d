"""The audit log: every action of staff, recorded by the service that performs it, in the
same transaction as the change (so an action that rolls back leaves no entry, and an
entry never describes something that did not happen)."""

from datetime import datetime
from typing import Any

from django.db.models import Model, QuerySet

from .models import AuditEntry


def _label(target: Model) -> str:
    for field in ("iccid", "email", "code"):
        value = getattr(target, field, None)
        if value:
            return str(value)[:200]
    return str(target)[:200]


def audit_record(*, actor, action: str, target: Model, now: datetime,
                 before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
                 reason: str = "", key: str | None = None) -> AuditEntry:
    """Record that ``actor`` did ``action`` (``"card.suspend"``) to ``target`` at ``now``.

    ``before`` and ``after`` hold the fields the action changed, as JSON-ready values.
    Each call adds a row: call it once per action, inside the action's transaction.
    ``key`` (unique) is the request's one-time token; see ``audit_key_used``."""
    public_id = getattr(target, "public_id", None)
    return AuditEntry.objects.create(
        at=now, actor=actor if getattr(actor, "pk", None) else None,
        actor_label=getattr(actor, "email", "") or "",
        action=action, target_type=target._meta.model_name,
        target_id=str(public_id if public_id is not None else target.pk),
        target_label=_label(target), before=before or {}, after=after or {}, reason=reason,
        key=key)


def audit_key_used(key: str) -> bool:
    """Whether an action with this request key was already recorded (and so done)."""
    return AuditEntry.objects.filter(key=key).exists()


def audit_entries(*, actor_label: str = "", action: str = "", target_id: str = "",
                  since: datetime | None = None, until: datetime | None = None
                  ) -> QuerySet[AuditEntry]:
    """The audit log, newest first, narrowed by whichever filters are given."""
    entries = AuditEntry.objects.all()
    if actor_label:
        entries = entries.filter(actor_label__icontains=actor_label)
    if action:
        entries = entries.filter(action__startswith=action)
    if target_id:
        entries = entries.filter(target_id=target_id) | entries.filter(
            target_label=target_id)
    if since is not None:
        entries = entries.filter(at__gte=since)
    if until is not None:
        entries = entries.filter(at__lt=until)
    return entries
