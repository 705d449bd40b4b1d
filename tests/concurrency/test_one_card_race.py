"""Usage, renewal, refund and pause racing on one card from several processes at once.

Each process (``python -m tests.concurrency.race hammer``) has its own database
connection and picks operations on alice's one card at random, with its own seed, for
a few seconds: usage batches through ``usage_rate`` (record ids drawn from one shared
pool, so the same record arrives from several processes at once), renewal attempts,
refund requests and staff approving them, pause and resume, the period sweep. Then
the database must hold exactly what the rules allow, whatever the interleaving.

PostgreSQL only: row locks and concurrent transactions are what is under test (SQLite
serialises every writer).
"""

import json
import os
import subprocess
import sys

import pytest

from tests.faults.trials import own_database
from tests.scale.harness import ROOT, base_env, parse_report, postgres_url

from .race import record_bytes

pytestmark = pytest.mark.postgres

TRANSPORT = "simdesk.payments.gateways.sandbox.transport.DjangoClientTransport"
PROCESSES = int(os.environ.get("RACE_PROCESSES", "5"))
SECONDS = float(os.environ.get("RACE_SECONDS", "20"))


def _race(*args, env):
    return [sys.executable, "-m", "tests.concurrency.race", *args]


@pytest.fixture
def race_env(tmp_path):
    with own_database(postgres_url()) as url:
        env = base_env(tmp_path, database_url=url, task_backend="database")
        # Renew as often as the card runs dry; the sandbox's webhooks reach the app
        # in-process (through the whole request path), none leaves the machine.
        env.update(RENEWAL_MAX_PER_24H="100000", LOG_LEVEL="WARNING",
                   SANDBOX_WEBHOOK_TRANSPORT=TRANSPORT)
        subprocess.run([sys.executable, "-m", "simdesk.cli", "migrate", "--no-input", "-v0"],
                       env=env, cwd=ROOT, check=True, timeout=120)
        subprocess.run(_race("setup", env=env), env=env, cwd=ROOT, check=True, timeout=60,
                       capture_output=True)
        yield env


def test_it_keeps_one_card_exact_while_usage_renewal_refund_and_pause_race(race_env, tmp_path):
    # Given alice's card with a 1 GB period, auto-renewal due whenever nothing is
    # queued, and a plan that can be paused
    # When several processes hammer that one card at once
    hammers = [subprocess.Popen(_race("hammer", "--seed", str(seed), "--seconds", str(SECONDS),
                                      env=race_env),
                                env=race_env, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
               for seed in range(PROCESSES)]
    outs = [h.communicate(timeout=SECONDS + 90) for h in hammers]
    assert [h.returncode for h in hammers] == [0] * PROCESSES, [err[-3000:] for _o, err in outs]
    runs = [parse_report(out) for out, _err in outs]
    report = parse_report(subprocess.run(
        _race("report", env=race_env), env=race_env, cwd=ROOT, check=True, timeout=120,
        capture_output=True, text=True).stdout)
    counts = {}
    for run in runs:
        for key, n in run["counts"].items():
            counts[key] = counts.get(key, 0) + n
    summary = {"counts": counts, "report": {k: v for k, v in report.items()
                                            if k != "records_applied"}}
    # What raced, for the record (shown with -s): RACE_PROCESSES=8 RACE_SECONDS=60 is the
    # full trial, the defaults the one CI runs.
    print("RACE", json.dumps({"processes": PROCESSES, "seconds": SECONDS, **summary},
                             default=str))

    # Then no operation failed other than by a business refusal (no deadlock, no 500)
    assert [f for run in runs for f in run["failures"]] == [], summary
    # and every operation kind actually raced
    for kind in ("usage", "pause", "unpause", "renew:succeeded", "advance", "buy:fulfilled"):
        assert counts.get(kind, 0) > 0, (kind, summary)
    assert report["refunds"] > 0, summary
    # and the ledger holds: credits − debits = remaining for every period, and every
    # card's usage rows carry what its rated records do
    assert report["violations"] == [], summary
    # and each distinct record sent was kept once, with exactly its bytes, and rated
    sent = set().union(*(run["sent"] for run in runs))
    assert set(report["records_applied"]) == sent
    assert report["records_waiting"] == 0, summary
    assert sum(run["applied"] for run in runs) == len(sent)
    assert report["wrong_usage"] == {}, summary
    # and the card was debited exactly what those records carry, once
    assert report["debited_bytes"] == report["rated_bytes"] \
        == sum(record_bytes(n) for n in sent) > 0, summary
    # and no period was both refunded and debited beyond it, nor refunded in full used
    assert report["late_debits"] == [] and report["full_refund_but_used"] == [], summary
    assert report["refund_keys_repeated"] == 0 and report["over_refunded"] == [], summary
    # and every renewal charged once and every paid order made its period
    assert report["renewals_paid_twice"] == [], summary
    assert report["paid_orders_without_period"] == [], summary
    # and the pause accounting adds up: each pause ran forwards and began after the one
    # before it ended, the periods were charged the paused time (whole seconds), each
    # period's end moved by what its events say, and the card's pause fields agree
    # with its state
    assert report["backwards_pauses"] == report["overlapping_pauses"] == 0, summary
    assert report["pauses"] > 0
    assert 0 <= report["pause_intervals_seconds"] - report["paused_seconds_charged"] \
        <= report["pauses"], summary
    assert report["validity_off"] == [], summary
    assert report["paused_at"] == (report["card_state"] == "paused"), summary
