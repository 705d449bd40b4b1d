"""Running simdesk as real processes against a private database, for the scale tests.

Each test gets its own database: a SQLite file in a temporary data dir, or (when
``DATABASE_URL`` points at PostgreSQL) a dedicated database created for the test and
dropped after it. Commands run as ``python -m simdesk.cli …`` (the ``simdesk`` entry
point) with the project root as working directory.
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
# Webhooks the sandbox sends go nowhere: no developer's server receives test traffic.
CLOSED_SITE = "http://127.0.0.1:9"


def postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


@contextmanager
def postgres_database(admin_url: str):
    """A new, empty PostgreSQL database; yields its URL and drops it afterwards."""
    import psycopg

    name = f"simdesk_scale_{secrets.token_hex(4)}"
    admin = _with_path(admin_url, "/postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_path(admin_url, f"/{name}")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def base_env(data_dir: Path, *, database_url: str | None, task_backend: str,
             redis_url: str | None = None) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.dev",
           "SIMDESK_DATA_DIR": str(data_dir), "TASK_BACKEND": task_backend,
           "DEBUG": "false", "SITE_URL": CLOSED_SITE, "PYTHONUNBUFFERED": "1"}
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    if database_url:
        env["DATABASE_URL"] = database_url
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def run(args: list[str], *, env: dict, timeout: float = 180, check: bool = True):
    result = subprocess.run([sys.executable, *args], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, f"{args} exited {result.returncode}:\n" \
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def simdesk(*args: str, env: dict, **kwargs):
    return run(["-m", "simdesk.cli", *args], env=env, **kwargs)


def scenario(*args: str, env: dict, **kwargs):
    return run(["-m", "tests.scale.scenario", *args], env=env, **kwargs)


def start(args: list[str], *, env: dict, log: Path) -> subprocess.Popen:
    """Start a background process in its own process group (so RQ's work horses go
    with it), its output in ``log``."""
    out = open(log, "ab")  # noqa: SIM115 - closed with the process by stop()
    return subprocess.Popen([sys.executable, *args], env=env, cwd=ROOT, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    if process.stdout:
        process.stdout.close()


def parse_report(stdout: str, prefix: str = "REPORT ") -> dict:
    line = next(line for line in stdout.splitlines() if line.startswith(prefix))
    return json.loads(line.removeprefix(prefix))


def wait_for_renewals(*, cards: int, env: dict, timeout: float, workers=()) -> dict:
    """Poll the database until every card is renewed (or the time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        report = parse_report(scenario("report", env=env).stdout)
        if report["renewed"] >= cards or time.monotonic() > deadline:
            return report
        for worker in workers:
            assert worker.poll() is None, "a worker process died"
        time.sleep(1)


def assert_ledger_consistent(env: dict) -> None:
    out = simdesk("check-ledger", env=env).stdout
    assert "the ledger is consistent" in out, out
