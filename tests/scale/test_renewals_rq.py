"""The renewal flow at scale on Redis: the clock and a real RQ worker process, each its
own process, renew every due card exactly once."""

import os
from urllib.parse import urlsplit, urlunsplit

import pytest

from .harness import (
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

pytestmark = pytest.mark.redis

CARDS = 30
# A Redis database of its own, emptied first: no job from another run is picked up.
REDIS_DB = 13


def _private_redis() -> str:
    import redis

    parts = urlsplit(os.environ["REDIS_URL"])
    url = urlunsplit((parts.scheme, parts.netloc, f"/{REDIS_DB}", "", ""))
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture
def database_url():
    """The PostgreSQL DATABASE_URL (a fresh database of its own) when set, else None
    (a SQLite file in the test's data dir)."""
    if postgres_url() is None:
        yield None
        return
    with postgres_database(postgres_url()) as url:
        yield url


def test_it_renews_every_due_card_once_with_a_clock_and_an_rq_worker_process(
        tmp_path, database_url):
    env = base_env(tmp_path, database_url=database_url, task_backend="rq",
                   redis_url=_private_redis())
    simdesk("migrate", "--no-input", "-v0", env=env)
    # Given cards whose period ends in 12 hours, auto-renewal on 24 hours before the end
    scenario("setup", "--cards", str(CARDS), env=env)
    worker = start(["-m", "simdesk.cli", "worker"], env=env, log=tmp_path / "worker.log")
    try:
        # When the clock ticks once (it enqueues every sweep, the renewal sweep with them)
        out = simdesk("clock", "--once", env=env).stdout
        assert "clock:" in out
        # and the RQ worker process runs what the clock enqueued
        report = wait_for_renewals(cards=CARDS, env=env, timeout=120, workers=[worker])
    finally:
        stop(worker)
    # Then every card was renewed once: one succeeded payment and sandbox charge per
    # card, one new period queued behind the current one
    assert report["renewed"] == CARDS, (report, (tmp_path / "worker.log").read_text()[-3000:])
    assert report["charges"] == report["payments"] == CARDS
    assert report["duplicate_payments"] == report["duplicate_charges"] == 0
    assert report["attempts"] == {"succeeded": CARDS}
    # and the ledger is consistent
    assert_ledger_consistent(env)
    # When the clock ticks again at once (a second clock, say), nothing more happens
    simdesk("clock", "--once", env=env)
    simdesk("worker", "--batch", env=env)
    again = wait_for_renewals(cards=CARDS, env=env, timeout=5)
    assert again["charges"] == CARDS and again["renewed"] == CARDS
