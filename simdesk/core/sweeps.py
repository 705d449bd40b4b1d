"""The clock: enqueue each periodic sweep of ``config/schedule.py`` when it is due.

Jobs are hints, the database is the truth: a sweep finds every due item again,
so a clock that stops, restarts, or runs twice loses or doubles no work. With
several clocks (one per machine) each slot is claimed by a conditional UPDATE,
so a sweep is enqueued once per interval whichever clock gets there first.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.module_loading import import_string

from .models import ClockSlot

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sweep:
    name: str
    task: str  # dotted path of a django-tasks task that takes no arguments
    every: timedelta


def sweep_claim(*, sweep: Sweep, now: datetime) -> bool:
    """Claim the sweep's current slot; True for exactly one caller per interval."""
    try:
        with transaction.atomic():
            ClockSlot.objects.get_or_create(name=sweep.name)
    except IntegrityError:
        pass  # another clock created it at the same moment
    due = Q(last_run_at__isnull=True) | Q(last_run_at__lte=now - sweep.every)
    return ClockSlot.objects.filter(due, name=sweep.name).update(last_run_at=now) == 1


def sweeps_run_due(*, schedule: list[Sweep], now: datetime) -> list[str]:
    """Enqueue every sweep whose interval has passed; returns the names enqueued."""
    enqueued = []
    for sweep in schedule:
        if sweep_claim(sweep=sweep, now=now):
            import_string(sweep.task).enqueue()
            enqueued.append(sweep.name)
            logger.info("clock: enqueued sweep %s", sweep.name)
    return enqueued
