"""Faults, in CI's reduced count (the full count: scripts/fault_trials.py --trials 50).

The web server (gunicorn), the worker and the RADIUS server run as real processes
against PostgreSQL while customers order and pay through the sandbox, renewals fall due
and usage arrives over the API and RADIUS; one process is killed with SIGKILL at a
random moment of each trial and started again. Then every paid order is fulfilled once,
nothing is charged twice, no usage is lost or counted twice, and ``simdesk check-ledger``
passes. And the database itself restarted under load: every process recovers without
being touched. Set FAULT_SEED to replay a run.
"""

import os
import random

import pytest

from tests.scale.harness import postgres_url

from .trials import POSTGRES_BIN, RADCLIENT, database_restart_trial, fault_trials, result_line

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(RADCLIENT is None, reason="needs radclient (freeradius-utils)"),
]

TRIALS = 6


def _seed() -> int:
    seed = int(os.environ.get("FAULT_SEED") or random.randrange(10**6))
    print(f"FAULT_SEED={seed}")
    return seed


def test_nothing_paid_is_lost_or_doubled_when_processes_are_killed(tmp_path):
    result = fault_trials(trials=TRIALS, seed=_seed(), database_url=postgres_url(),
                          work=tmp_path)

    print(result_line(result))
    assert result["lost"] == 0, result["details"]
    assert result["duplicates"] == 0, result["details"]
    assert result["ledger_violations"] == 0, result["details"]
    assert sum(result["killed"].values()) == TRIALS
    # The load did happen: every trial's orders were paid and fulfilled, its renewals made.
    assert result["paid_orders"] == result["orders_fulfilled"] == 3 * TRIALS
    assert result["renewed"] == 2 * TRIALS


@pytest.mark.skipif(not POSTGRES_BIN, reason="needs PostgreSQL's server binaries "
                    "(/usr/lib/postgresql/*/bin) for a private server to restart")
def test_every_process_recovers_by_itself_when_the_database_restarts(tmp_path):
    result = database_restart_trial(seed=_seed(), work=tmp_path)

    # The processes served the next trial by themselves, completely.
    assert result["pending_next_trial"] == [], result
    assert result["next_trial_duplicates"] == [], result
    assert result["lost"] == 0, result["details"]
    assert result["duplicates"] == 0, result["details"]
    assert result["ledger_violations"] == 0, result["details"]
    assert result["paid_orders"] == result["orders_fulfilled"] == 6
    assert result["renewed"] == 4
