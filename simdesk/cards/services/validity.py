"""Giving a period more time (a staff decision: goodwill, an outage, a late activation)."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import ServiceError

from ..models import Period, PeriodState
from .ledger import card_lock

MAX_EXTENSION_DAYS = 365


def period_extend(*, period: Period, days: int, now: datetime) -> Period:
    """Add ``days`` to ``period``'s validity: an active period ends that much later, a
    queued one will last that much longer once it starts. The data balance does not
    change, so the ledger does not either (the audit log records who did it).

    Not idempotent by itself: each call adds the days again; callers that may repeat a
    request guard it with a key (the back office does).
    """
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise ServiceError(_("Extend by 1 to %(max)d days.") % {"max": MAX_EXTENSION_DAYS},
                           code="invalid_days")
    with transaction.atomic():
        card_lock(period.card)
        period = Period.objects.get(pk=period.pk)
        if period.state not in (PeriodState.ACTIVE, PeriodState.QUEUED):
            raise ServiceError(_("Only an active or queued period can be extended."),
                               code="period_not_open")
        period.validity_days += days
        fields = ["validity_days", "updated_at"]
        if period.ends_at is not None:
            period.ends_at += timedelta(days=days)
            fields.append("ends_at")
        period.save(update_fields=fields)
        return period
