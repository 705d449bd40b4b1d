"""`simdesk worker --batch` and `simdesk clock --once`, the job runners of the embedded setup."""

import signal
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from config.schedule import SCHEDULE
from simdesk.core.clock import utcnow
from simdesk.core.models import ClockSlot
from simdesk.core.tasks import clear_expired_sessions


@pytest.fixture(autouse=True)
def keep_signal_handlers():
    """The worker installs its own SIGINT/SIGTERM handlers; give pytest its own back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.fixture
def database_tasks(settings):
    """Jobs go through the database backend, as in the embedded setup."""
    settings.TASK_BACKEND = "database"
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }


def expired_session() -> str:
    session = SessionStore()
    session["seen"] = True
    session.set_expiry(-60)
    session.create()
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=utcnow() - timedelta(days=1)
    )
    return session.session_key


@pytest.mark.django_db(transaction=True)
def test_it_runs_every_queued_task_then_exits(database_tasks):
    # given an expired session and a queued job to clear it
    key = expired_session()
    result = clear_expired_sessions.enqueue()
    assert DBTaskResult.objects.get(id=result.id).status == TaskResultStatus.READY
    assert Session.objects.filter(session_key=key).exists()

    # when a batch worker runs
    call_command("worker", "--batch")

    # then the job ran, succeeded, and did its work
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 1
    assert not Session.objects.filter(session_key=key).exists()


@pytest.mark.django_db(transaction=True)
def test_it_exits_at_once_when_nothing_is_queued(database_tasks):
    call_command("worker", "--batch")

    assert DBTaskResult.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_it_enqueues_every_due_sweep_on_one_clock_tick(database_tasks):
    out = StringIO()

    call_command("clock", "--once", stdout=out)

    assert f"{len(SCHEDULE)} sweeps" in out.getvalue()
    assert sorted(ClockSlot.objects.values_list("name", flat=True)) == sorted(
        sweep.name for sweep in SCHEDULE
    )
    queued = DBTaskResult.objects.values_list("task_path", flat=True)
    assert sorted(queued) == sorted(sweep.task for sweep in SCHEDULE)


@pytest.mark.django_db(transaction=True)
def test_it_does_not_enqueue_again_on_the_next_tick(database_tasks):
    call_command("clock", "--once", stdout=StringIO())

    call_command("clock", "--once", stdout=StringIO())

    assert DBTaskResult.objects.count() == len(SCHEDULE)


@pytest.mark.django_db(transaction=True)
def test_it_leaves_the_callers_signal_handlers_alone_for_one_tick():
    before = signal.getsignal(signal.SIGINT)

    call_command("clock", "--once", stdout=StringIO())

    assert signal.getsignal(signal.SIGINT) is before


def test_the_worker_outlives_a_database_outage(database_tasks, monkeypatch):
    # The task library's worker loop raises on a database error (a restart, a dropped
    # connection); `simdesk worker` waits and runs it again instead of exiting.
    from django.db import OperationalError

    from simdesk.core.management.commands import worker

    runs, waits = [], []

    def db_worker(name, *args):
        runs.append(name)
        if len(runs) < 3:
            raise OperationalError("the database system is shutting down")

    monkeypatch.setattr(worker, "call_command", db_worker)
    monkeypatch.setattr(worker.time, "sleep", waits.append)
    monkeypatch.setattr(worker, "_database_usable", lambda: False)

    call_command("worker", stderr=StringIO())

    assert runs == ["db_worker"] * 3
    assert waits == [1.0, 2.0]
