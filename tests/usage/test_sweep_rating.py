"""The rating sweep: records stored but never rated (a process stopped between storing and
rating them, an import cut short) are applied by the clock within a minute, once."""

from datetime import timedelta

import pytest
import time_machine
from django.db.models import Sum

from config.schedule import SCHEDULE
from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import LedgerEntry
from simdesk.core.sweeps import sweeps_run_due
from simdesk.usage.ledger_check import usage_violations
from simdesk.usage.models import RatingRun, Record
from simdesk.usage.services import usage_store
from simdesk.usage.tasks import usage_rate_pending_sweep

from .conftest import MB, rated_through, rec

pytestmark = pytest.mark.django_db


def test_the_clock_rates_waiting_records_every_minute():
    [sweep] = [s for s in SCHEDULE if s.name == "usage-rate-pending"]
    assert sweep.task == "simdesk.usage.tasks.usage_rate_pending_sweep"
    assert sweep.every == timedelta(minutes=1)


def test_records_stored_but_not_rated_are_applied_by_the_sweep_once(card_with_500mb, now):
    card, period = card_with_500mb
    at = now + timedelta(minutes=10)
    usage_store([rec("a", card, 100, at), rec("b", card, 50, at)], source="mediation")
    usage_store([rec("c", card, 25, at)], source="import")
    period.refresh_from_db()
    assert period.remaining_bytes == 500 * MB  # stored, nothing applied yet
    assert rated_through() < Record.objects.latest("pk").pk

    with time_machine.travel(at + timedelta(minutes=1), tick=False):
        first = usage_rate_pending_sweep.enqueue()
        second = usage_rate_pending_sweep.enqueue()

    assert (first.return_value, second.return_value) == (3, 0)
    period.refresh_from_db()
    assert period.remaining_bytes == 325 * MB and period.used_bytes == 175 * MB
    assert rated_through() == Record.objects.latest("pk").pk
    assert RatingRun.objects.count() == 1
    usage = LedgerEntry.objects.filter(card=card, reference__startswith="rating:")
    assert usage.aggregate(total=Sum("bytes"))["total"] == -175 * MB
    assert list(usage_violations()) == [] and list(ledger_violations()) == []


def test_a_clock_tick_runs_the_sweep(card_with_500mb, now):
    card, period = card_with_500mb
    usage_store([rec("a", card, 40, now)], source="mediation")
    [sweep] = [s for s in SCHEDULE if s.name == "usage-rate-pending"]

    with time_machine.travel(now + timedelta(seconds=30), tick=False):
        # the immediate test backend runs what the clock enqueues
        assert sweeps_run_due(schedule=[sweep], now=now + timedelta(seconds=30)) == [
            "usage-rate-pending"]

    period.refresh_from_db()
    assert period.remaining_bytes == 460 * MB


def test_the_sweep_with_nothing_waiting_rates_nothing_and_starts_no_run(card_with_500mb, now):
    with time_machine.travel(now, tick=False):
        assert usage_rate_pending_sweep.enqueue().return_value == 0
    assert RatingRun.objects.count() == 0
