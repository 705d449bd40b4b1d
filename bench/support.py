"""What the benchmarks share: their own throwaway PostgreSQL database, and Django set up
for a measurement (DEBUG off, database task backend, no log line per operation)."""

import logging
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` instead."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


@contextmanager
def postgres_database(admin_url: str, prefix: str = "simdesk_bench") -> Iterator[str]:
    """A new database ``<prefix>_<random>`` on the server of ``admin_url``; its URL is
    yielded, and it is dropped afterwards, however the bench ends (SIGTERM included,
    when the bench turns it into SystemExit)."""
    import psycopg

    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(with_database(admin_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(admin_url, name)
    finally:
        with psycopg.connect(with_database(admin_url, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def configure(data_dir: str, database_url: str | None, **environ: str) -> None:
    """Set up Django in this process on ``database_url`` (default: SQLite in
    ``data_dir``), with ``environ`` added to the bench's environment."""
    for name in ("DATABASE_URL", "REDIS_URL", "TASK_BACKEND"):
        os.environ.pop(name, None)
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "SIMDESK_DATA_DIR": data_dir,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-not-secret",
        "SITE_URL": "http://127.0.0.1:9",
        "TASK_BACKEND": "database",
        **environ,
    })
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    logging.disable(logging.INFO)  # one log line per operation would be the bench
