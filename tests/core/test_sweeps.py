"""The clock enqueues each periodic sweep once per interval, however many clocks tick."""

from datetime import timedelta

import pytest
from django_tasks import task

from simdesk.core.models import ClockSlot
from simdesk.core.sweeps import Sweep, sweeps_run_due

RUNS: list[str] = []


@task()
def record_run() -> None:
    RUNS.append("ran")


@pytest.fixture
def hourly():
    """A sweep due every hour, whose task only records that it ran."""
    RUNS.clear()
    return Sweep("test-hourly", f"{__name__}.record_run", timedelta(hours=1))


def test_it_enqueues_a_sweep_that_never_ran(db, hourly, now):
    enqueued = sweeps_run_due(schedule=[hourly], now=now)

    assert enqueued == ["test-hourly"]
    assert RUNS == ["ran"]
    assert ClockSlot.objects.get(name="test-hourly").last_run_at == now


def test_it_enqueues_once_when_two_clocks_tick_at_the_same_moment(db, hourly, now):
    first_clock = sweeps_run_due(schedule=[hourly], now=now)
    second_clock = sweeps_run_due(schedule=[hourly], now=now)

    assert first_clock == ["test-hourly"]
    assert second_clock == []
    assert RUNS == ["ran"]


def test_it_waits_for_the_interval_before_enqueueing_again(db, hourly, now):
    sweeps_run_due(schedule=[hourly], now=now)

    too_soon = sweeps_run_due(schedule=[hourly], now=now + timedelta(minutes=59, seconds=59))
    due_again = sweeps_run_due(schedule=[hourly], now=now + timedelta(hours=1))
    not_twice = sweeps_run_due(schedule=[hourly], now=now + timedelta(hours=1, seconds=1))

    assert (too_soon, due_again, not_twice) == ([], ["test-hourly"], [])
    assert RUNS == ["ran", "ran"]
    assert ClockSlot.objects.get(name="test-hourly").last_run_at == now + timedelta(hours=1)


def test_it_keeps_each_sweeps_own_interval(db, hourly, now):
    daily = Sweep("test-daily", f"{__name__}.record_run", timedelta(days=1))
    sweeps_run_due(schedule=[hourly, daily], now=now)

    later = sweeps_run_due(schedule=[hourly, daily], now=now + timedelta(hours=2))

    assert later == ["test-hourly"]


def test_it_lists_only_importable_tasks_in_the_schedule():
    from django.utils.module_loading import import_string
    from django_tasks.base import Task

    from config.schedule import SCHEDULE

    names = [sweep.name for sweep in SCHEDULE]
    assert len(names) == len(set(names)), "two sweeps share a name, so they share a slot"
    for sweep in SCHEDULE:
        assert isinstance(import_string(sweep.task), Task), sweep.task
        assert sweep.every > timedelta(0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_enqueues_once_when_clocks_on_two_machines_race(hourly, now):
    """Real concurrency: each clock has its own connection, and they start together."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(4)
    results: list[list[str]] = []

    def clock():
        try:
            barrier.wait()
            results.append(sweeps_run_due(schedule=[hourly], now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=clock) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == [[], [], [], ["test-hourly"]]
    assert RUNS == ["ran"]
