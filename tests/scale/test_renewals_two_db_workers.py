"""The renewal flow on PostgreSQL with the database task backend: two clocks and two
`simdesk worker` processes at once renew every due card exactly once."""

import subprocess
import sys

import pytest

from .harness import (
    ROOT,
    assert_ledger_consistent,
    base_env,
    postgres_database,
    postgres_url,
    scenario,
    simdesk,
    start,
    stop,
    wait_for_renewals,
)

pytestmark = pytest.mark.postgres

CARDS = 60


def test_it_renews_every_due_card_once_with_two_clocks_and_two_db_workers(tmp_path):
    with postgres_database(postgres_url()) as url:
        env = base_env(tmp_path, database_url=url, task_backend="database")
        simdesk("migrate", "--no-input", "-v0", env=env)
        # Given cards whose period ends in 12 hours, auto-renewal on 24 hours before the end
        scenario("setup", "--cards", str(CARDS), env=env)
        workers = [start(["-m", "simdesk.cli", "worker"], env=env,
                         log=tmp_path / f"worker-{i}.log") for i in range(2)]
        try:
            # When two clocks tick at the same moment
            clocks = [subprocess.Popen([sys.executable, "-m", "simdesk.cli", "clock", "--once"],
                                       env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
                      for _ in range(2)]
            assert [clock.wait(timeout=60) for clock in clocks] == [0, 0]
            # and two database workers share the work
            report = wait_for_renewals(cards=CARDS, env=env, timeout=150, workers=workers)
        finally:
            for worker in workers:
                stop(worker)
        logs = "".join((tmp_path / f"worker-{i}.log").read_text() for i in range(2))
        # Then every card was renewed once, nothing lost and nobody charged twice
        assert report["renewed"] == CARDS, (report, logs[-3000:])
        assert report["charges"] == report["payments"] == CARDS
        assert report["duplicate_payments"] == report["duplicate_charges"] == 0
        assert report["attempts"] == {"succeeded": CARDS}
        # and the renewal sweep was enqueued once although two clocks ticked
        out = simdesk("shell", "-c", (
            "from django_tasks_db.models import DBTaskResult\n"
            "print('sweeps', DBTaskResult.objects.filter("
            "task_path='simdesk.renewals.tasks.renewals_due_sweep').count())"), env=env).stdout
        assert "sweeps 1" in out
        # and both workers did some of the renewals
        for i in range(2):
            text = (tmp_path / f"worker-{i}.log").read_text()
            assert "simdesk.renewals.tasks.renewal_run state=SUCCESSFUL" in text, i
        # and the ledger is consistent
        assert_ledger_consistent(env)
