"""Reading, locking and writing a batch's session rows in a few statements.

The accounting batch touches hundreds of session rows per transaction; through the
ORM (model instances, IN lists with one placeholder per value, bulk_update's CASE per
field) that cost more than everything else the batch does. On PostgreSQL each
statement here takes whole arrays (``= ANY(%s)``, ``unnest``), so it has a handful of
parameters whatever the batch size; SQLite runs in process and takes executemany.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.utils.dateparse import parse_datetime

from ..models import RadiusSession

TABLE = RadiusSession._meta.db_table
# Written back after each batch (everything but the key).
FIELDS = ("generation", "card_id", "user_name", "nas_address", "bytes_in", "bytes_out",
          "mcc_mnc", "started_at", "last_event_at", "stopped_at")
PG_TYPES = ("integer", "bigint", "text", "inet", "bigint", "bigint", "text",
            "timestamptz", "timestamptz", "timestamptz")


@dataclass(slots=True)
class SessionRow:
    """A RadiusSession row as the batch works on it."""

    pk: int
    nas_id: int
    session_id: str
    generation: int
    card_id: int
    user_name: str
    nas_address: str
    bytes_in: int
    bytes_out: int
    mcc_mnc: str
    started_at: datetime
    last_event_at: datetime
    stopped_at: datetime | None


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _time(value) -> datetime | None:
    """SQLite hands back Django's naive UTC (as text or a naive datetime)."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else parse_datetime(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _out(value):
    if isinstance(value, datetime) and not _pg():
        return connection.ops.adapt_datetimefield_value(value)
    return value


def sessions_lock(keys: set[tuple[int, str]]) -> dict[tuple[int, str], SessionRow]:
    """The existing rows for (nas id, Acct-Session-Id) ``keys``, locked until commit
    in id order, so concurrent servers queue instead of deadlocking."""
    if not keys:
        return {}
    nas_ids = sorted({nas for nas, _ in keys})
    session_ids = sorted({sid for _, sid in keys})
    address = "host(nas_address)" if _pg() else "nas_address"
    columns = f"id, nas_id, session_id, {', '.join(FIELDS)}".replace(
        "nas_address", address)
    with connection.cursor() as cursor:
        if _pg():
            cursor.execute(
                f"SELECT {columns} FROM {TABLE} WHERE nas_id = ANY(%s) "  # noqa: S608
                "AND session_id = ANY(%s) ORDER BY id FOR UPDATE", [nas_ids, session_ids])
        else:  # the transaction already holds SQLite's write lock (BEGIN IMMEDIATE)
            cursor.execute(
                f"SELECT {columns} FROM {TABLE} "  # noqa: S608
                f"WHERE nas_id IN ({', '.join(['%s'] * len(nas_ids))}) "
                f"AND session_id IN ({', '.join(['%s'] * len(session_ids))}) ORDER BY id",
                [*nas_ids, *session_ids])
        rows = cursor.fetchall()
    found = {}
    for row in rows:
        key = (row[1], row[2])
        if key in keys:
            found[key] = SessionRow(*row[:10], _time(row[10]), _time(row[11]), _time(row[12]))
    return found


def sessions_create(new: dict[tuple[int, str], dict]) -> dict[tuple[int, str], SessionRow]:
    """Insert rows for ``new`` sessions (one a concurrent server created a moment ago is
    left as it is), then lock and return them like the others."""
    columns = ("nas_id", "session_id", *FIELDS)
    rows = [(nas, sid, 0, v["card_id"], v["user_name"], v["nas_address"], 0, 0, "",
             v["started_at"], v["last_event_at"], None)
            for (nas, sid), v in sorted(new.items())]
    with connection.cursor() as cursor:
        if _pg():
            types = ("integer", "text", *PG_TYPES)
            arrays = [list(column) for column in zip(*rows, strict=True)]
            unnest = ", ".join(f"%s::{t}[]" for t in types)
            cursor.execute(
                f"INSERT INTO {TABLE} ({', '.join(columns)}) "  # noqa: S608
                f"SELECT * FROM unnest({unnest}) ON CONFLICT (nas_id, session_id) DO NOTHING",
                arrays)
        else:
            cursor.executemany(
                f"INSERT OR IGNORE INTO {TABLE} ({', '.join(columns)}) "  # noqa: S608
                f"VALUES ({', '.join(['%s'] * len(columns))})",
                [tuple(_out(v) for v in row) for row in rows])
    return sessions_lock(set(new))


def sessions_save(rows: list[SessionRow]) -> None:
    """Write the batch's sessions back in one statement (PostgreSQL) or one executemany."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if _pg():
            arrays = [[row.pk for row in rows],
                      *([getattr(row, name) for row in rows] for name in FIELDS)]
            unnest = ", ".join(f"%s::{t}[]" for t in ("bigint", *PG_TYPES))
            assignments = ", ".join(f"{name} = v.{name}" for name in FIELDS)
            cursor.execute(
                f"UPDATE {TABLE} AS s SET {assignments} "  # noqa: S608
                f"FROM unnest({unnest}) AS v(id, {', '.join(FIELDS)}) WHERE s.id = v.id",
                arrays)
        else:
            assignments = ", ".join(f"{name} = %s" for name in FIELDS)
            cursor.executemany(
                f"UPDATE {TABLE} SET {assignments} WHERE id = %s",  # noqa: S608
                [(*(_out(getattr(row, name)) for name in FIELDS), row.pk) for row in rows])
