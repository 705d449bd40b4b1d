"""A worker killed with SIGKILL at a random moment of a renewal sweep never causes a
double charge or a lost renewal once the next sweep has run (PostgreSQL).

Each trial renews its own group of cards, at its own (moved) time: a worker process
enqueues the renewal sweeps and runs them (``simdesk worker --batch``) until it is
killed at a random moment after the sweep began; a fresh process then runs the sweeps
again to the end, past the lease a killed worker holds on an attempt it was charging
(10 minutes: until then the attempt is left alone, as its worker might still be alive).
Set SCALE_CRASH_SEED to replay a run.
"""

import os
import random
import signal
import time

import pytest

from .harness import (
    assert_ledger_consistent,
    base_env,
    parse_report,
    postgres_database,
    postgres_url,
    scenario,
    simdesk,
    start,
    stop,
)

pytestmark = pytest.mark.postgres

TRIALS = 20
CARDS_PER_TRIAL = 4
DAY_MINUTES = 24 * 60
PAST_THE_LEASE_MINUTES = 11
# The kill comes after a random number of this trial's renewals were logged (none to all
# but one) and a random moment more, so it lands inside the sweep however fast the
# machine renews (a fixed window after the start misses a sweep that ends sooner).
KILL_JITTER_SECONDS = 0.05
RENEWED = "renewed by"


def _wait_for_sweep_start(log, worker, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while "renewals_due_sweep state=RUNNING" not in log.read_text():
        assert worker.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "the worker did not start the sweep"
        time.sleep(0.02)


def _wait_for_renewals(log, worker, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while log.read_text().count(RENEWED) < count:
        if worker.poll() is not None or time.monotonic() > deadline:
            return  # the sweep ended another way; the kill below simply lands later
        time.sleep(0.005)


def test_it_never_double_charges_or_loses_a_renewal_when_a_worker_is_killed(tmp_path):
    seed = int(os.environ.get("SCALE_CRASH_SEED") or random.randrange(10**6))
    rng = random.Random(seed)
    print(f"SCALE_CRASH_SEED={seed}")
    with postgres_database(postgres_url()) as url:
        env = base_env(tmp_path, database_url=url, task_backend="database")
        simdesk("migrate", "--no-input", "-v0", env=env)
        # Given TRIALS groups of cards with saved Visas and auto-renewal on, group i due
        # i days from now
        scenario("setup", "--cards", str(TRIALS * CARDS_PER_TRIAL), "--groups", str(TRIALS),
                 env=env)
        interrupted = []
        for trial in range(TRIALS):
            shift = trial * DAY_MINUTES
            # When a worker running the renewal sweep is killed at a random moment
            log = tmp_path / f"killed-{trial}.log"
            worker = start(["-m", "tests.scale.scenario", "--shift-minutes", str(shift),
                            "work"], env=env, log=log)
            _wait_for_sweep_start(log, worker)
            _wait_for_renewals(log, worker, rng.randrange(CARDS_PER_TRIAL))
            time.sleep(rng.uniform(0, KILL_JITTER_SECONDS))
            stop(worker, signal.SIGKILL)
            # and the sweeps run again to the end in a fresh worker, past the lease
            out = scenario("--shift-minutes", str(shift + PAST_THE_LEASE_MINUTES), "recover",
                           "--upto-group", str(trial), env=env).stdout
            before, after = parse_report(out, "BEFORE "), parse_report(out)
            renewed_before = before["renewed"] - trial * CARDS_PER_TRIAL
            charging = before["attempts"].get("charging", 0)
            if charging or 0 < renewed_before < CARDS_PER_TRIAL:
                interrupted.append((trial, renewed_before, charging))
            # Then every card of this trial is renewed once, earlier ones stay renewed
            # once, later ones are untouched, nobody is charged twice
            assert after["wrong"] == [], (trial, seed, after)
            assert after["duplicate_payments"] == 0, (trial, seed, after)
            assert after["duplicate_charges"] == 0, (trial, seed, after)
            assert after["charges"] == (trial + 1) * CARDS_PER_TRIAL, (trial, seed, after)
            assert set(after["attempts"]) == {"succeeded"}, (trial, seed, after)
            # and the ledger is consistent
            assert_ledger_consistent(env)
        print(f"trials interrupted mid-sweep (trial, renewed before, charging): {interrupted}")
        # The kills did land inside sweeps (otherwise this test would prove nothing).
        assert interrupted, f"no kill interrupted a sweep (seed {seed})"
