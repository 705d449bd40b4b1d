"""Usage survives a process killed at the two points where rating can be cut off.

Usage is kept (``usage_store``, one commit) and then applied (rating runs, each one
transaction that moves the rating cursor in its commit). A process killed after the
first commit leaves records kept but not applied: the next rating (the next caller's, or
the clock's rating sweep) applies them, once.
A process killed, or a database restarted, in the middle of a run takes the run's
transaction with it: nothing of it stays (no ledger row, no balance, the cursor where
it was), and the next run applies its records once.

Each test drives ``python -m tests.faults.rating_crash`` processes against a database
of its own (a SQLite file, and a PostgreSQL database when DATABASE_URL names a server)
and kills them with SIGKILL where they stopped.
"""

import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest

from tests.scale.harness import ROOT, base_env, parse_report, postgres_url, run, simdesk

from .rating_crash import BATCH, MB, expected_bytes
from .trials import POSTGRES_BIN, own_database, private_postgres

WAIT = 60  # seconds a process may take to reach the point it stops at

BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.skipif(
        postgres_url() is None, reason="needs PostgreSQL: set DATABASE_URL=postgres://…")),
]
RECORDS = sum(len(sizes) for sizes in BATCH.values())


def _prepare(env: dict) -> dict:
    simdesk("migrate", "--no-input", "-v0", env=env)
    return json.loads(run(["-m", "tests.faults.rating_crash", "setup"], env=env).stdout)


@pytest.fixture(params=BACKENDS)
def crash_env(request, tmp_path):
    """A migrated database of its own with the three cards; yields (env, card ids)."""
    if request.param == "sqlite":
        env = base_env(tmp_path, database_url=None, task_backend="database")
        yield env, _prepare(env)
        return
    with own_database(postgres_url()) as url:
        env = base_env(tmp_path, database_url=url, task_backend="database")
        yield env, _prepare(env)


def _start(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.faults.rating_crash", *args],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _until(process: subprocess.Popen, prefix: str) -> str:
    """The process's first output line starting with ``prefix`` (it stops there)."""
    deadline = time.monotonic() + WAIT
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {prefix!r} line within {WAIT}s"
        ready, _w, _x = select.select([process.stdout], [], [], remaining)
        if ready:
            line = process.stdout.readline()
            if line.startswith(prefix):
                return line.removeprefix(prefix).strip()
            assert line, f"exited {process.wait()} before {prefix!r}: {process.stderr.read()}"


def _killed_at(env: dict, prefix: str, *args: str) -> str:
    """Run the in-process half until it prints ``prefix``, then SIGKILL it."""
    process = _start(env, *args)
    try:
        return _until(process, prefix)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()


def _rated(env: dict, *args: str) -> dict:
    out = run(["-m", "tests.faults.rating_crash", *args], env=env).stdout
    return parse_report(out, "RATED ")


def _report(env: dict) -> dict:
    return parse_report(run(["-m", "tests.faults.rating_crash", "report"], env=env).stdout)


def _assert_nothing_applied(report: dict) -> None:
    assert report["through"] == 0 and report["runs"] == 0 and report["usage_rows"] == 0
    for name, card in report["cards"].items():
        assert card["debited_bytes"] == card["rated_bytes"] == 0, name
        assert card["disconnects"] == 0, name
    assert report["cards"]["queued"]["periods"] == ["active", "queued"]
    assert report["violations"] == []


def _assert_applied_once(report: dict, batches) -> None:
    """Every record of ``batches`` applied, once, with what applying it brings."""
    assert report["rated"] == report["records"] == RECORDS * len(batches)
    expected = expected_bytes(batches)
    for name, card in report["cards"].items():
        assert card["rated_bytes"] == card["debited_bytes"] == expected[name], (name, card)
    # 30 MB, then overage, and one request to cut the card off
    runs_out = report["cards"]["runs_out"]
    assert runs_out["overage_bytes"] == expected["runs_out"] - 30 * MB
    assert runs_out["disconnects"] == 1
    # 20 MB used up, the queued period started and took the rest
    assert report["cards"]["queued"]["periods"] == ["active", "exhausted"]
    assert report["cards"]["queued"]["disconnects"] == 0
    assert report["violations"] == []


def _assert_cut_off_run_left_nothing_and_the_next_applies_it(env, cards) -> None:
    """The records of a rating run cut off before its commit are kept and none applied;
    the next run applies them once (one run in all)."""
    report = _report(env)
    assert report["records"] == RECORDS
    _assert_nothing_applied(report)
    rated = _rated(env, "pending")
    assert rated["applied"] == RECORDS
    assert rated["exhausted"] == [cards["runs_out"]]
    report = _report(env)
    _assert_applied_once(report, [0])
    assert report["runs"] == 1


def test_records_kept_by_a_process_killed_before_rating_are_applied_once_by_the_sweep(
        crash_env):
    env, _cards = crash_env
    # Given a process that kept a batch and was killed before anything rated it
    stored = json.loads(_killed_at(env, "STORED ", "store", "--batch", "0"))
    assert stored["applied"] == RECORDS
    report = _report(env)
    assert report["records"] == RECORDS
    _assert_nothing_applied(report)

    # When the clock's rating sweep runs
    rated = _rated(env, "sweep")

    # Then it applies every one of them, once
    assert rated["applied"] == RECORDS
    _assert_applied_once(_report(env), [0])
    # and a rating after it finds nothing left to apply
    assert _rated(env, "pending")["applied"] == 0
    _assert_applied_once(_report(env), [0])


def test_records_of_a_caller_killed_between_storing_and_rating_go_with_the_next_caller(
        crash_env):
    env, _cards = crash_env
    # Given a usage_rate caller killed once its batch was kept, before its rating
    _killed_at(env, "PAUSED ", "rate", "--batch", "0", "--pause-at", "rating")
    _assert_nothing_applied(_report(env))

    # When another caller rates a batch of its own
    rated = _rated(env, "rate", "--batch", "1")

    # Then that caller's rating applied the batch left behind as well, each record once
    assert (rated["applied"], rated["duplicates"]) == (RECORDS, 0)
    _assert_applied_once(_report(env), [0, 1])


def test_a_batch_sent_again_after_its_caller_was_killed_before_rating_is_applied_by_the_retry(
        crash_env):
    env, _cards = crash_env
    # Given a usage_rate caller (an API request) killed once its batch was kept, before
    # its rating
    _killed_at(env, "PAUSED ", "rate", "--batch", "0", "--pause-at", "rating")

    # When the client, which got no answer, sends the batch again
    rated = _rated(env, "rate", "--batch", "0")

    # Then the records count as kept before, and are applied when the answer comes
    assert (rated["applied"], rated["duplicates"]) == (0, RECORDS)
    _assert_applied_once(_report(env), [0])


def test_a_run_killed_before_its_commit_leaves_nothing_and_the_next_run_applies_it_once(
        crash_env):
    env, cards = crash_env
    # Given a rating run killed when it had applied its records (ledger rows, balances,
    # periods, the queued one started) and was about to move the cursor past them
    paused = _killed_at(env, "PAUSED cursor-move ", "rate", "--batch", "0", "--pause-at",
                        "cursor-move")
    assert json.loads(paused)["usage_rows"] > 0

    # Then its transaction went with it, and the next run applies the records once
    _assert_cut_off_run_left_nothing_and_the_next_applies_it(env, cards)


@pytest.mark.skipif(postgres_url() is None, reason="needs PostgreSQL: set DATABASE_URL")
@pytest.mark.skipif(not POSTGRES_BIN, reason="needs PostgreSQL's server binaries "
                    "(/usr/lib/postgresql/*/bin) for a private server to restart")
def test_a_run_cut_off_by_a_database_restart_leaves_nothing_and_the_next_run_applies_it_once(
        tmp_path):
    with private_postgres() as (admin_url, restart, _log), own_database(admin_url) as url:
        env = base_env(tmp_path, database_url=url, task_backend="database")
        cards = _prepare(env)
        # Given a rating run that had applied its records and was about to move the cursor
        process = _start(env, "rate", "--batch", "0", "--pause-at", "cursor-move")
        try:
            assert json.loads(_until(process, "PAUSED cursor-move "))["usage_rows"] > 0
            # When the database restarts under it
            restart()
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            process.stdout.close()
            process.stderr.close()

        # Then nothing of the run is left, and the next run applies the records once
        _assert_cut_off_run_left_nothing_and_the_next_applies_it(env, cards)
