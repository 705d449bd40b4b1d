"""Usage from several processes at once: each record is kept once, applied once, and
each card's balance is what its records carry.

Each process (``python -m tests.concurrency.usage_race hammer``) has its own database
connection and, for a few seconds, sends batches drawn from one pool of records (so
the same record arrives from several processes at once) to cards that take all of
their usage, cards that run out and cards with a period queued: with ``usage_rate``,
or kept with ``usage_store`` and left to whoever rates next, now and then
``usage_rate_pending``. Then one last ``usage_rate_pending`` (what a store-only caller
left), and the database is judged. On SQLite (one writer at a time, across processes)
and on PostgreSQL (row locks) when DATABASE_URL names a server.

The same again with the processes killed (SIGKILL) at random moments and started
again: whatever a process was doing (keeping a batch, rating a run), what it was
answered for is kept, and everything kept is applied once. Set RACE_SEED to replay.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from tests.faults.trials import own_database
from tests.scale.harness import ROOT, base_env, parse_report, postgres_url, run, simdesk

from .usage_race import DATA, record_bytes

PROCESSES = int(os.environ.get("RACE_PROCESSES", "4"))
SECONDS = float(os.environ.get("RACE_SECONDS", "8"))
CARDS = 12
KILLS = int(os.environ.get("RACE_KILLS", "3"))  # per process


def _race(*args: str) -> list[str]:
    return ["-m", "tests.concurrency.usage_race", *args]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.skipif(
    postgres_url() is None, reason="needs PostgreSQL: set DATABASE_URL=postgres://…"))])
def race_env(request, tmp_path):
    def prepared(env):
        simdesk("migrate", "--no-input", "-v0", env=env)
        run(_race("setup", "--cards", str(CARDS)), env=env)
        return env

    if request.param == "sqlite":
        yield prepared(base_env(tmp_path, database_url=None, task_backend="database"))
        return
    with own_database(postgres_url()) as url:
        yield prepared(base_env(tmp_path, database_url=url, task_backend="database"))


def test_records_raced_from_several_processes_are_kept_once_and_applied_once(race_env):
    # Given cards of every kind, and several processes sending overlapping usage at once
    hammers = [subprocess.Popen([sys.executable, *_race("hammer", "--seed", str(seed),
                                                        "--seconds", str(SECONDS))],
                                env=race_env, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
               for seed in range(PROCESSES)]
    outs = [h.communicate(timeout=SECONDS + 120) for h in hammers]
    assert [h.returncode for h in hammers] == [0] * PROCESSES, [e[-3000:] for _o, e in outs]
    runs = [parse_report(out) for out, _err in outs]
    # When whoever rates next takes what store-only callers left
    run(_race("pending"), env=race_env)
    report = parse_report(run(_race("report"), env=race_env).stdout)
    summary = {"counts": [r["counts"] for r in runs], "waiting": report["waiting"],
               "cards": report["cards"], "violations": report["violations"][:10]}

    # Then no call failed (no deadlock, no "database is locked", no integrity error)
    assert [f for r in runs for f in r["failures"]] == [], summary
    assert all(r["counts"]["rate"] and r["counts"]["store"] for r in runs), summary
    # and every distinct record sent was kept once, by one of its senders, and rated
    sent = set().union(*(r["sent"] for r in runs))
    assert report["record_ids"] == sorted(sent)
    assert sum(r["kept"] for r in runs) == report["records"] == len(sent)
    assert report["waiting"] == 0, summary
    # and each card was debited exactly what its records carry, once
    for index, card in report["cards"].items():
        carried = sum(record_bytes(n) for n in sent if n % CARDS == int(index))
        assert card["kept"] == card["rated"] == card["debited"] == carried, (index, card)
    # and what that brings happened once: a card that ran out was asked to disconnect
    # once, a card with a period queued moved on to it when the first was used up
    for index, card in report["cards"].items():
        used_up = card["debited"] >= DATA[card["kind"]]
        if card["kind"] == "runs_out":
            assert card["disconnects"] == int(used_up), (index, card)
        if card["kind"] == "queued":
            assert card["periods"] == (["active", "exhausted"] if used_up
                                       else ["active", "queued"]), (index, card)
            assert card["disconnects"] == 0, (index, card)
    assert any(card["disconnects"] for card in report["cards"].values()), summary
    # and the ledger holds, per period and per card's rated records
    assert report["violations"] == [], summary


def _answered(out: str) -> set[int]:
    return {n for line in out.splitlines() if line.startswith("ANSWERED ")
            for n in json.loads(line.removeprefix("ANSWERED "))}


def _judge(report: dict, answered: set[int]) -> None:
    """Everything answered was kept; everything kept was applied once, by card."""
    kept = set(report["record_ids"])
    assert answered <= kept, sorted(answered - kept)[:20]
    assert report["waiting"] == 0, report["waiting"]
    for index, card in report["cards"].items():
        carried = sum(record_bytes(n) for n in kept if n % CARDS == int(index))
        assert card["kept"] == card["rated"] == card["debited"] == carried, (index, card)
        if card["kind"] == "runs_out":
            assert card["disconnects"] == int(card["debited"] >= DATA["runs_out"]), card
    assert report["violations"] == [], report["violations"][:10]


def test_processes_killed_at_random_moments_lose_nothing_answered_and_count_nothing_twice(
        race_env):
    seed = int(os.environ.get("RACE_SEED") or random.randrange(10**6))
    print(f"RACE_SEED={seed}")
    rng = random.Random(seed)

    def hammer(n: int, seconds: float) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, *_race("hammer", "--seed", str(n),
                                                        "--seconds", str(seconds))],
                                env=race_env, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, start_new_session=True)

    # Given several processes sending overlapping usage, each killed KILLS times at a
    # random moment (once it has begun sending) and started again
    answered: set[int] = set()
    kills = 0
    for round_ in range(KILLS):
        processes = [hammer(round_ * PROCESSES + i, 60) for i in range(PROCESSES)]
        for process in processes:
            # It has begun once it answered a first batch; then it dies at a random moment.
            first = process.stdout.readline()
            assert first.startswith("ANSWERED "), f"exited {process.poll()} before sending"
            answered |= _answered(first)
        time.sleep(rng.uniform(0.1, 1.5))
        for process in processes:
            time.sleep(rng.uniform(0, 0.3))
            os.killpg(process.pid, signal.SIGKILL)
            kills += 1
        for process in processes:
            process.wait(timeout=30)
            answered |= _answered(process.stdout.read())
            process.stdout.close()
    # and a last round that runs to its end
    last = [hammer(1000 + i, 3) for i in range(PROCESSES)]
    for process in last:
        out, _err = process.communicate(timeout=120)
        assert process.returncode == 0
        assert parse_report(out)["failures"] == []
        answered |= _answered(out)

    # When whoever rates next takes what was left kept but not rated
    run(_race("pending"), env=race_env)

    # Then nothing answered was lost, and nothing kept was applied twice or not at all
    assert kills == KILLS * PROCESSES and answered
    _judge(parse_report(run(_race("report"), env=race_env).stdout), answered)
