"""The rating engine behind ``usage_store``, ``usage_rate_pending`` and ``usage_rate``.

Usage goes in two steps, each its own transaction, one writer at a time (the writer
holds the ``RatingCursor`` row; on SQLite the database's write lock):

Storing a batch: the records are checked, repeats within the batch dropped, records
of unknown cards rejected, and the rest written as ``Record`` rows (a binary COPY on
PostgreSQL, after one probe of the (source, record id) key for the records sent before;
an executemany on SQLite). The row is the record's claim: a record already stored is a
duplicate, whoever sent it and when. Once this commits the usage is durable.

Rating: a run takes the stored records after the cursor, in id order, at most
``CHUNK`` of them, and applies them in one transaction, with the cursor moved past
them in the same commit; so every stored record is applied once, whatever crashes or
retries happen, and records are never applied out of the order they were stored in.

1. the run's records are summed per card and quarter of an hour of usage time (their
   ``at``, never later than now) into a temporary table; their cards are locked in id
   order, so ``card_debit_usage`` and purchases on the same cards wait their turn;
2. the common cases, set-based: a card whose only active period is started, limited,
   ends after the usage and now, and keeps data left after all of the card's new
   usage; and a card with no active or queued period left, whose usage is all
   overage. Nothing happens to them but arithmetic: one ledger row per card and
   quarter hour (reference ``rating:<run>:<card>``, numbered by ``seq``, its
   ``balance_after`` a running sum), one update per period and per card, however many
   records the card had;
3. every other card (a period runs out or starts, several periods, unlimited with fair
   use, a paused card, a late record after an end) goes through ``card_debit_usage``,
   by time then record id: a record on its own (reference ``usage:<source>:<record
   id>``) where something may happen to its periods, several records of one quarter
   hour in one debit (``rating:<run>:<card>:<n>``) where nothing can, or only to the
   last of them (it uses the period up); once nothing more can happen to the card, the
   rest of its records goes the way of 2;
4. what follows is queued to run after commit: a disconnect request when a card ran
   out, the alert check and a renewal run for cards that crossed one of their
   thresholds.

The quarter hours keep the ledger's usage rows true to when the usage happened for
daily charts in every time zone (all of them are whole quarter hours from UTC).

The more records wait when a run starts, the fewer rows and updates each costs: a
card that sent fifty records since the last run gets one period update, one card
update and one ledger row. ``usage_rate`` (the batch API, RADIUS) stores and then rates
at once; concurrent callers share runs (a caller whose records a run already took
returns without one). A bulk import stores its file and rates it in runs of ``CHUNK``.
"""

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter

from django.db import connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from simdesk.cards.models import (
    Card,
    CardState,
    LedgerEntry,
    LedgerKind,
    NetworkAction,
    NetworkActionKind,
    Period,
)
from simdesk.cards.models import PeriodState as PS
from simdesk.cards.services import card_debit_usage

from .models import (
    EPOCH,
    MICROSECOND,
    RatingCursor,
    RatingRun,
    Record,
    Source,
    from_microseconds,
    rating_reference,
    to_microseconds,
    usage_reference,
)
from .services import MAX_RECORD_BYTES, MAX_RECORD_ID_LENGTH, RatingResult, usage_record_problem

logger = logging.getLogger(__name__)

# Records per rating run (one transaction): large enough that a backlog is taken in few
# runs (a run's cost is mostly per card, not per record), small enough that a run holds
# its card locks for a second or two.
CHUNK = 250_000
# The ledger's usage rows are per card and slot of this many seconds of usage time.
SLOT_SECONDS = 900
# Page cache of a SQLite connection that writes usage (KiB; at most, used as needed).
SQLITE_CACHE_KIB = 256 * 1024
# A card that ran out but still sends usage is asked to disconnect again at most this often.
ASK_AGAIN_AFTER = timedelta(minutes=5)

SLOTS = "usage_slots"
FAST = "usage_fast"


@dataclass
class _Change:
    """A limited period's balance before and after the run, for threshold checks."""

    card_id: int
    total: int
    before: int
    after: int


@dataclass
class _Effects:
    changes: list[_Change] = field(default_factory=list)
    # card id -> reference of the record after which the card had no data left
    ran_out: dict[int, str] = field(default_factory=dict)
    # card id -> reference of the first record of a card that had no data already
    still_out: dict[int, str] = field(default_factory=dict)


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _sqlite_datetime(value: datetime) -> str:
    """Django's SQLite form of an aware datetime (naive UTC text), without its overhead."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ")[:-6]  # less "+00:00"


def _lock_cursor(cursor) -> int:
    """Become the one usage writer until the transaction ends; returns ``through``."""
    table = RatingCursor._meta.db_table
    lock = " FOR UPDATE" if _is_postgres() else ""
    for _attempt in range(2):
        cursor.execute(f"SELECT through FROM {table} WHERE id = 1{lock}")  # noqa: S608
        row = cursor.fetchone()
        if row is not None:
            return row[0]
        cursor.execute(f"INSERT INTO {table} (id, through) VALUES (1, 0) "  # noqa: S608
                       "ON CONFLICT (id) DO NOTHING")
    raise RuntimeError("the rating cursor row cannot be created")


# --- storing ------------------------------------------------------------------------------

def _checked(records, result: RatingResult) -> list[tuple[str, int, int, int]]:
    """The records that can be stored, as rows (record id, card id, bytes, ended at in
    microseconds) in the order sent; the others counted. A record id sent twice in the
    batch is here twice: the first one counts, the store drops the others (SQLite's
    insert by its unique key, PostgreSQL before its COPY)."""
    rows = []
    for record in records:
        record_id = record.record_id
        # The usual record passes these inline checks; anything odd gets the full
        # check, which names the problem.
        try:
            up, down, ended = record.bytes_up, record.bytes_down, record.ended_at
            usual = (type(record_id) is str and 0 < len(record_id) <= MAX_RECORD_ID_LENGTH
                     and type(record.card_id) is int
                     and type(up) is int and type(down) is int and up >= 0 and down >= 0
                     and up + down <= MAX_RECORD_BYTES and ended.tzinfo is not None
                     and record.started_at.tzinfo is not None
                     and record.started_at <= ended and record_id.strip()
                     and "\x00" not in record_id)
        except (AttributeError, TypeError):
            usual = False
        if not usual:
            problem = usage_record_problem(record)
            if problem:
                result.rejected.append((str(record_id or ""), problem))
                continue
            up, down, ended = record.bytes_up, record.bytes_down, record.ended_at
        # to_microseconds, inline: this loop runs once per record.
        rows.append((record_id, record.card_id, up + down, (ended - EPOCH) // MICROSECOND))
    return rows


def store(records, *, source: str) -> tuple[RatingResult, int]:
    """Store the records not seen before; returns what happened to them (``applied``:
    stored now) and the id of the last record stored so far, which none of the batch's
    stored records comes after (0 when the batch had no record to store)."""
    result = RatingResult()
    rows = _checked(records, result)
    if not rows:
        return result, 0
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_cursor(cursor)
        source_id = _source_id(cursor, source)
        rows = _known_cards(cursor, rows, result)
        stored = _insert(cursor, rows, source_id) if rows else 0
        result.applied = stored
        result.duplicates += len(rows) - stored
        # The last record stored so far: this batch's records, new or sent before (by
        # a caller that may have stopped before rating them), are all at or before it.
        cursor.execute(f"SELECT MAX(id) FROM {Record._meta.db_table}")  # noqa: S608
        last = cursor.fetchone()[0] or 0
    return result, last


def _source_id(cursor, name: str) -> int:
    table = Source._meta.db_table
    cursor.execute(f"SELECT id FROM {table} WHERE name = %s", [name])  # noqa: S608
    row = cursor.fetchone()
    if row is None:
        cursor.execute(f"INSERT INTO {table} (name) VALUES (%s) RETURNING id",  # noqa: S608
                       [name])
        row = cursor.fetchone()
    return row[0]


def _known_cards(cursor, rows: list, result: RatingResult) -> list:
    """The rows whose card exists; the others rejected (cards are never deleted)."""
    wanted = {row[1] for row in rows}
    card = Card._meta.db_table
    low, high = min(wanted), max(wanted)
    if high - low < 4 * len(wanted):
        # Card ids are mostly one run of numbers: when every id from the lowest to the
        # highest is a card, so is every id wanted. One count along the key, instead
        # of looking up each id.
        cursor.execute(f"SELECT COUNT(*) FROM {card} WHERE id BETWEEN %s AND %s",  # noqa: S608
                       [low, high])
        if cursor.fetchone()[0] == high - low + 1:
            return rows
    match, ids = _in_ids("id", wanted)
    cursor.execute(f"SELECT id FROM {card} WHERE {match}", [ids])  # noqa: S608
    found = {row[0] for row in cursor.fetchall()}
    if len(found) == len(wanted):
        return rows
    # The first of a record id's rows decides: stored if its card exists, refused if
    # not; the later ones are duplicates either way.
    kept, firsts = [], set()
    for row in rows:
        if row[0] in firsts:
            result.duplicates += 1
            continue
        firsts.add(row[0])
        if row[1] in found:
            kept.append(row)
        else:
            result.rejected.append((row[0], _("No card has this id.")))
    return kept


def _insert(cursor, rows: list, source_id: int) -> int:
    """Write the rows not stored before, the first of each record id; returns how
    many were new."""
    table = Record._meta.db_table
    # In record id order (a stable sort: the first of a repeated id stays first), so the
    # unique key is written along its order, not at random places.
    rows = sorted(rows, key=itemgetter(0))
    if _is_postgres():
        first: dict[str, tuple] = {}
        for row in rows:
            first.setdefault(row[0], row)
        if len(first) < len(rows):
            rows = list(first.values())
        # OFFSET 0 keeps the subquery a probe per record: PostgreSQL would rather scan
        # the source's records (its statistics lag behind a table that grows by
        # thousands of rows a second). The ids go as one JSON text: a list of 10,000
        # strings spelt out as an array literal costs more to write and to parse.
        cursor.execute(f"""
            SELECT u.id FROM json_array_elements_text(%s::json) AS u(id)
            WHERE EXISTS (SELECT 1 FROM {table} r
                          WHERE r.source_id = %s AND r.record_id = u.id OFFSET 0)
            """, [json.dumps([row[0] for row in rows]), source_id])  # noqa: S608
        seen = {row[0] for row in cursor.fetchall()}
        if seen:
            rows = [row for row in rows if row[0] not in seen]
        # Binary: no number formatted as text by us, parsed back by the server. As the
        # one writer nobody can store a record meanwhile, so the COPY cannot collide.
        with cursor.copy(f"COPY {table} (record_id, card_id, bytes, at_us, source_id) "
                         "FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["text", "int8", "int8", "int8", "int8"])
            write, source = copy.write_row, (source_id,)
            for row in rows:
                write(row + source)
        return len(rows)
    _sqlite_cache(cursor)
    cursor.executemany(
        f"INSERT INTO {table} (record_id, card_id, bytes, at_us, source_id) "  # noqa: S608
        f"VALUES (%s, %s, %s, %s, {int(source_id)}) "
        "ON CONFLICT (source_id, record_id) DO NOTHING", rows)
    return cursor.rowcount


def _sqlite_cache(cursor) -> None:
    cursor.execute("PRAGMA cache_size")
    if cursor.fetchone()[0] > -SQLITE_CACHE_KIB:
        # Usage writes all over the record key and the card and period tables; with
        # SQLite's default 2 MB page cache nearly every write reads its pages again.
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")


# --- rating -------------------------------------------------------------------------------

def rate_pending(*, now: datetime, until: int | None = None,
                 full_runs_only: bool = False) -> RatingResult:
    """Rate stored records in runs of at most ``CHUNK``: all that wait, or (``until``)
    at least every record up to that id, or (``full_runs_only``) as many runs of
    ``CHUNK`` as wait. Returns ``applied``: records rated."""
    result = RatingResult()
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            after = _lock_cursor(cursor)
            if until is not None and after >= until:
                break
            through = _run_end(cursor, after, full=full_runs_only)
            if through is None:
                break
            _run(cursor, after, through, now=now, result=result)
        if until is not None and through >= until:
            break  # no second look under the lock to learn what this run did
    return result


def _run_end(cursor, after: int, *, full: bool = False) -> int | None:
    """The id of the last record of the next run: at most ``CHUNK`` ids from the first
    waiting record (ids come from a sequence; a rolled-back store leaves a gap, and
    the run is that much smaller). None: nothing waits, or with ``full``, the run
    would not be full yet."""
    table = Record._meta.db_table
    cursor.execute(f"SELECT MIN(id) FROM {table} WHERE id > %s", [after])  # noqa: S608
    first = cursor.fetchone()[0]
    if first is None:
        return None
    last = first - 1 + CHUNK
    if full:
        cursor.execute(f"SELECT MAX(id) FROM {table}")  # noqa: S608
        if cursor.fetchone()[0] < last:
            return None
    cursor.execute(f"SELECT MAX(id) FROM {table} WHERE id >= %s AND id <= %s",  # noqa: S608
                   [first, last])
    return cursor.fetchone()[0]


def _run(cursor, after: int, through: int, *, now: datetime, result: RatingResult) -> None:
    postgres = _is_postgres()
    now_value = now if postgres else _sqlite_datetime(now)
    if postgres:
        # These statements are large but simple: compiling them (JIT) costs more than
        # it saves.
        cursor.execute("SET LOCAL jit = off")
    else:
        _sqlite_cache(cursor)
    records, cards = _sum_slots(cursor, after, through, to_microseconds(now))
    run = RatingRun.objects.create(after=after, through=through, records=records, cards=cards,
                                   rated_at=now)
    if postgres:
        cursor.execute(f"SELECT id FROM {Card._meta.db_table} WHERE id IN "  # noqa: S608
                       f"(SELECT card_id FROM {SLOTS}) ORDER BY id FOR UPDATE")
    effects = _Effects()
    if _apply_fast(cursor, run, now_value=now_value, effects=effects) < cards:
        # The other cards record by record until nothing more can happen to them;
        # what is left of their records goes the set-based way, and what that does
        # not take, record by record to the end.
        rest = _apply_exact(_slow_records(cursor, (after, through)), run, now=now,
                            effects=effects, hand_back=True)
        if rest:
            rest_cards = _sum_slots_of(cursor, rest, to_microseconds(now))
            if _apply_fast(cursor, run, now_value=now_value, effects=effects) < rest_cards:
                _apply_exact(_slow_records(cursor, rest), run, now=now, effects=effects)
    cursor.execute(f"UPDATE {RatingCursor._meta.db_table} SET through = %s "  # noqa: S608
                   "WHERE id = 1", [through])
    result.applied += records
    _follow_up(effects, now=now, result=result)


def _sum_slots(cursor, after: int, through: int, now_us: int) -> tuple[int, int]:
    """The run's records summed per card and slot (times never later than now);
    returns (records, cards)."""
    if _is_postgres():
        # ON COMMIT DELETE ROWS: nothing is left behind for the connection's next user.
        cursor.execute(f"""
            CREATE TEMP TABLE IF NOT EXISTS {SLOTS} (
                card_id bigint NOT NULL, slot bigint NOT NULL, bytes bigint NOT NULL,
                n bigint NOT NULL, max_us bigint NOT NULL) ON COMMIT DELETE ROWS""")
        cursor.execute(f"""
            CREATE TEMP TABLE IF NOT EXISTS {FAST} (
                card_id bigint PRIMARY KEY, period_id bigint, total bigint,
                remaining bigint NOT NULL, bytes bigint NOT NULL, max_at timestamptz NOT NULL
            ) ON COMMIT DELETE ROWS""")
    else:
        cursor.execute(f"""
            CREATE TEMP TABLE IF NOT EXISTS {SLOTS} (
                card_id integer NOT NULL, slot integer NOT NULL, bytes integer NOT NULL,
                n integer NOT NULL, max_us integer NOT NULL)""")
        cursor.execute(f"""
            CREATE TEMP TABLE IF NOT EXISTS {FAST} (
                card_id integer PRIMARY KEY, period_id integer, total integer,
                remaining integer NOT NULL, bytes integer NOT NULL, max_at text NOT NULL)""")
    return _fill_slots(cursor, "id > %s AND id <= %s", [after, through], now_us)


def _fill_slots(cursor, where: str, params: list, now_us: int) -> tuple[int, int]:
    """SLOTS := the records ``where`` says, summed per card and slot; FAST emptied.
    Returns (records, cards)."""
    at = "LEAST(at_us, %s)" if _is_postgres() else "MIN(at_us, %s)"
    cursor.execute(f"DELETE FROM {SLOTS}")  # noqa: S608
    cursor.execute(f"DELETE FROM {FAST}")  # noqa: S608
    cursor.execute(f"""
        INSERT INTO {SLOTS} (card_id, slot, bytes, n, max_us)
        SELECT card_id, {at} / {SLOT_SECONDS * 1_000_000}, SUM(bytes), COUNT(*), MAX({at})
        FROM {Record._meta.db_table} WHERE {where}
        GROUP BY 1, 2""", [now_us, now_us, *params])  # noqa: S608
    if _is_postgres() and cursor.rowcount >= 1000:
        # Statistics, so the joins below are planned for thousands of rows (hash joins),
        # not a guess; a small run (RADIUS) is best served by index lookups.
        cursor.execute(f"ANALYZE {SLOTS} (card_id)")
    cursor.execute(f"SELECT SUM(n), COUNT(DISTINCT card_id) FROM {SLOTS}")  # noqa: S608
    records, cards = cursor.fetchone()
    return int(records or 0), int(cards or 0)


def _sum_slots_of(cursor, pks: list[int], now_us: int) -> int:
    """SLOTS := the records ``pks``; returns their cards."""
    where, param = _in_ids("id", pks)
    return _fill_slots(cursor, where, [param], now_us)[1]


def _ids(ids) -> tuple[str, str]:
    """A subquery of the integers ``ids`` and its one parameter: one text of digits and
    commas (PostgreSQL) or a JSON array (SQLite), cheaper to send and parse than a
    parameter per id or an array literal."""
    if _is_postgres():
        return ("SELECT unnest(string_to_array(%s, ',')::bigint[])",
                ",".join(str(int(i)) for i in ids))
    return "SELECT value FROM json_each(%s)", json.dumps([int(i) for i in ids])


def _in_ids(column: str, ids) -> tuple[str, str]:
    """SQL ``column`` in ``ids`` (integers), with its one parameter."""
    subquery, param = _ids(ids)
    return f"{column} IN ({subquery})", param


def _id_list(ids) -> RawSQL:
    """``ids`` for an ``__in`` lookup of the ORM, which would otherwise prepare and
    compile a parameter per id (thousands after a large run)."""
    subquery, param = _ids(ids)
    return RawSQL(subquery, [param])  # noqa: S611 (a constant of _ids; the ids are a parameter)


def _time(microseconds: str) -> str:
    """SQL for the database's own datetime of an SQL expression of microseconds since
    1970 (on SQLite the text Django writes: no fraction when it is zero)."""
    if _is_postgres():
        return f"(TIMESTAMPTZ 'epoch' + ({microseconds}) * INTERVAL '1 microsecond')"
    return (f"(strftime('%%Y-%%m-%%d %%H:%%M:%%S', ({microseconds}) / 1000000, 'unixepoch')"
            f" || CASE WHEN ({microseconds}) %% 1000000 = 0 THEN ''"
            f" ELSE printf('.%%06d', ({microseconds}) %% 1000000) END)")


def _apply_fast(cursor, run: RatingRun, *, now_value, effects: _Effects) -> int:
    """Two cases need nothing but arithmetic: a card whose only active period simply
    takes all of its new usage, and a card with no active or queued period left, whose
    usage is all overage (it ran out earlier and the network has not cut it off yet).
    Returns how many cards were taken."""
    period = Period._meta.db_table
    card = Card._meta.db_table
    ledger = LedgerEntry._meta.db_table
    # The card's only active period: started, limited, ending after the usage and now,
    # keeping data after all of it; the card active (nothing for card_sync_state to do).
    cursor.execute(f"""
        INSERT INTO {FAST} (card_id, period_id, total, remaining, bytes, max_at)
        SELECT a.card_id, o.period_id, o.total, o.remaining, a.bytes, a.max_at
        FROM (SELECT card_id, CAST(SUM(bytes) AS BIGINT) AS bytes,
                     {_time("MAX(max_us)")} AS max_at
              FROM {SLOTS} GROUP BY card_id) a
        JOIN (SELECT p.card_id, MIN(p.id) AS period_id, COUNT(*) AS n,
                     MIN(p.total_bytes) AS total, MIN(p.remaining_bytes) AS remaining,
                     MIN(p.ends_at) AS ends_at,
                     MAX(CASE WHEN p.unlimited OR p.ends_at IS NULL THEN 1 ELSE 0 END) AS odd
              FROM {period} p JOIN {card} c ON c.id = p.card_id
              WHERE p.state = %s AND c.state = %s
                AND p.card_id IN (SELECT card_id FROM {SLOTS})
              GROUP BY p.card_id) o ON o.card_id = a.card_id
        WHERE o.n = 1 AND o.odd = 0 AND o.ends_at > a.max_at AND o.ends_at > %s
          AND o.remaining > a.bytes
        """, [PS.ACTIVE, CardState.ACTIVE, now_value])  # noqa: S608
    taken = cursor.rowcount
    # No active or queued period left (nothing to start or expire), and a state that
    # card_sync_state keeps: all of the card's usage is overage.
    cursor.execute(f"""
        INSERT INTO {FAST} (card_id, period_id, total, remaining, bytes, max_at)
        SELECT s.card_id, NULL, NULL, c.overage_bytes,
               CAST(SUM(s.bytes) AS BIGINT), {_time("MAX(s.max_us)")}
        FROM {SLOTS} s JOIN {card} c ON c.id = s.card_id
        WHERE c.state <> %s
          AND NOT EXISTS (SELECT 1 FROM {period} q
                          WHERE q.card_id = s.card_id AND q.state IN (%s, %s))
        GROUP BY s.card_id, c.overage_bytes
        """, [CardState.ACTIVE, PS.ACTIVE, PS.QUEUED])  # noqa: S608
    overage = cursor.rowcount
    if not taken and not overage:
        return 0
    # One ledger row per card and slot that carried bytes, in time order; a running
    # sum gives each row's balance after it (for overage: minus the card's overage).
    cursor.execute(f"""
        INSERT INTO {ledger} (card_id, period_id, kind, bytes, balance_after, reference, seq,
                              at, created_at, note)
        SELECT card_id, period_id, CASE WHEN period_id IS NULL THEN %s ELSE %s END, -bytes,
               CASE WHEN period_id IS NULL THEN -(remaining + used) ELSE remaining - used END,
               %s || card_id, seq, {_time("max_us")}, %s, ''
        FROM (SELECT s.card_id, f.period_id, f.remaining, s.bytes, s.max_us,
                     SUM(s.bytes) OVER w AS used, (ROW_NUMBER() OVER w) - 1 AS seq
              FROM {SLOTS} s JOIN {FAST} f ON f.card_id = s.card_id
              WHERE s.bytes > 0
              WINDOW w AS (PARTITION BY s.card_id ORDER BY s.slot
                           ROWS UNBOUNDED PRECEDING)) u
        ORDER BY card_id, seq
        """, [LedgerKind.OVERAGE, LedgerKind.DEBIT_USAGE,  # noqa: S608
              rating_reference(run.pk), now_value])
    if taken:
        cursor.execute(f"""
            UPDATE {period} SET remaining_bytes = remaining_bytes - f.bytes,
                                used_bytes = used_bytes + f.bytes, updated_at = %s
            FROM {FAST} f WHERE {period}.id = f.period_id AND f.bytes > 0
            """, [now_value])  # noqa: S608
    cursor.execute(f"""
        UPDATE {card} SET
            overage_bytes = overage_bytes + CASE WHEN f.period_id IS NULL THEN f.bytes ELSE 0 END,
            usage_updated_at = CASE WHEN {card}.usage_updated_at IS NULL
                                         OR {card}.usage_updated_at < f.max_at
                                    THEN f.max_at ELSE {card}.usage_updated_at END,
            updated_at = %s
        FROM {FAST} f WHERE {card}.id = f.card_id
          AND ({card}.usage_updated_at IS NULL OR {card}.usage_updated_at < f.max_at
               OR (f.period_id IS NULL AND f.bytes > 0))
        """, [now_value])  # noqa: S608
    if taken:
        # Only a period whose whole percent used moved can have crossed a threshold.
        cursor.execute(f"""
            SELECT card_id, total, remaining, bytes FROM {FAST}
            WHERE period_id IS NOT NULL AND total > 0
              AND (total - remaining) * 100 / total <> (total - remaining + bytes) * 100 / total
            """)  # noqa: S608
        effects.changes.extend(_Change(card_id, total, remaining, remaining - used)
                               for card_id, total, remaining, used in cursor.fetchall())
    if overage:
        # Usage of a card with nothing left: the network has not cut it off (yet); see
        # _follow_up for when it is asked again.
        cursor.execute(f"""
            SELECT r.card_id, r.source_id, r.record_id, r.at_us, r.id
            FROM {Record._meta.db_table} r JOIN {FAST} f ON f.card_id = r.card_id
            WHERE r.id > %s AND r.id <= %s AND f.period_id IS NULL AND r.bytes > 0
            """, [run.after, run.through])  # noqa: S608
        first: dict[int, tuple] = {}
        for card_id, source_id, record_id, at, _pk in cursor.fetchall():
            if card_id not in first or (at, record_id) < first[card_id][:2]:
                first[card_id] = (at, record_id, source_id)
        names = _source_names({source_id for _at, _id, source_id in first.values()})
        for card_id, (_at, record_id, source_id) in first.items():
            effects.still_out[card_id] = usage_reference(names[source_id], record_id)
    return taken + overage


def _source_names(ids) -> dict[int, str]:
    return dict(Source.objects.filter(pk__in=list(ids)).values_list("pk", "name"))


def _slow_records(cursor, records: tuple[int, int] | list[int]) -> list[tuple]:
    """Of the records (an id range (after, through], or a list of ids), those of the
    cards the set-based step did not take: (id, card id, source id, record id, bytes,
    at)."""
    if isinstance(records, tuple):
        where, params = "r.id > %s AND r.id <= %s", list(records)
    else:
        where, param = _in_ids("r.id", records)
        params = [param]
    cursor.execute(f"""
        SELECT r.id, r.card_id, r.source_id, r.record_id, r.bytes, r.at_us
        FROM {Record._meta.db_table} r
        WHERE {where}
          AND NOT EXISTS (SELECT 1 FROM {FAST} f WHERE f.card_id = r.card_id)
        """, params)  # noqa: S608
    return [(pk, c, s, i, b, from_microseconds(us))
            for pk, c, s, i, b, us in cursor.fetchall()]


# --- the exact path -----------------------------------------------------------------------

def _apply_exact(rows: list[tuple], run: RatingRun, *, now: datetime, effects: _Effects,
                 hand_back: bool = False) -> list[int]:
    """``card_debit_usage`` card by card in id order, each card's records by time then
    record id: a record on its own where something may happen to the card's periods,
    and several records in one debit where nothing can (see ``_plain``). With
    ``hand_back``, a card's records are left alone from the moment nothing more can
    happen to it; returns their ids (for the set-based step)."""
    names = _source_names({row[2] for row in rows})
    by_card: dict[int, list] = defaultdict(list)
    for row in rows:
        by_card[row[1]].append(row)
    handed_back: list[int] = []
    for card_id in sorted(by_card):
        records = sorted(by_card[card_id], key=lambda r: (min(r[5], now), r[3], r[0]))
        card = Card.objects.get(pk=card_id)
        before = _limited_balances(card_id)
        done = debits = 0
        while done < len(records):
            plain, all_plain = _plain(card_id, records[done:], now=now)
            if hand_back and all_plain and debits:
                handed_back.extend(r[0] for r in records[done:])
                break
            if plain > 1:
                part = records[done:done + plain]
                reference = f"{rating_reference(run.pk, card_id)}:{debits}"
                debit = card_debit_usage(card=card, bytes=sum(r[4] for r in part),
                                         reference=reference, at=part[-1][5], now=now)
            else:
                plain = 1
                _pk, _card, source_id, record_id, bytes_, at = records[done]
                debit = card_debit_usage(card=card, bytes=bytes_,
                                         reference=usage_reference(names[source_id], record_id),
                                         at=at, now=now)
                if not debit.applied:
                    # Its name was debited before by other means (card_debit_usage
                    # called directly with it; simdesk itself never does).
                    logger.error("usage record %s was debited before under its ledger "
                                 "reference; not debited again", debit.reference)
            done += plain
            debits += 1
            if (debit.ran_out and (debit.exhausted or debit.overage_bytes)
                    and card_id not in effects.ran_out):
                effects.ran_out[card_id] = debit.reference
        # The periods it had, and any that started on the way (full before they did).
        after = {pk: (total, remaining) for pk, total, remaining in Period.objects.filter(
            Q(pk__in=list(before)) | Q(card_id=card_id, state=PS.ACTIVE), unlimited=False)
            .values_list("pk", "total_bytes", "remaining_bytes")}
        for pk, (total, remaining) in after.items():
            was = before.get(pk, (total, total))[1]
            if total and remaining != was:
                effects.changes.append(_Change(card_id, total, was, remaining))
    return handed_back


def _plain(card_id: int, records: list[tuple], *, now: datetime) -> tuple[int, bool]:
    """How many of the card's next records (in order) one debit can take with the same
    outcome as one debit each, and whether that holds for all of them but for their
    slots of time: records in one slot, and either the card has nothing active or
    queued (all of it is overage), or its one active period is started, limited, ends
    after them and after now, and keeps data after all of them (the card active). The
    record that uses the period up can close such a group: what happens then (the
    period used up, the next one started, overage) happens at its time either way."""
    periods = list(Period.objects.filter(card_id=card_id, state__in=(PS.ACTIVE, PS.QUEUED))
                   .values_list("state", "unlimited", "ends_at", "remaining_bytes",
                                "card__state")[:2])
    if len(periods) == 1:
        state, unlimited, ends_at, remaining, card_state = periods[0]
        # A period that ended before now is closed after the first debit, and what
        # comes after that is not its usage any more.
        if (state != PS.ACTIVE or unlimited or ends_at is None or ends_at <= now
                or card_state != CardState.ACTIVE):
            return 0, False
    elif periods:
        return 0, False
    slot = _slot(min(records[0][5], now))
    in_slot, total = None, 0
    for n, record in enumerate(records):
        at = min(record[5], now)
        if in_slot is None and _slot(at) != slot:
            in_slot = n
        if periods and at >= ends_at:
            return (n if in_slot is None else in_slot), False
        if periods and total + record[4] >= remaining:
            return (n + 1 if in_slot is None else in_slot), False
        total += record[4]
    return (len(records) if in_slot is None else in_slot), True


def _slot(at: datetime) -> int:
    return int(at.timestamp()) // SLOT_SECONDS


def _limited_balances(card_id: int) -> dict[int, tuple[int, int]]:
    return {pk: (total, remaining) for pk, total, remaining in
            Period.objects.filter(card_id=card_id, state=PS.ACTIVE, unlimited=False)
            .values_list("pk", "total_bytes", "remaining_bytes")}


# --- what follows -------------------------------------------------------------------------

def _crossed(total: int, before: int, after: int, thresholds) -> bool:
    """Some percent-used threshold ``t`` with used·100 < t·total before, ≥ after."""
    used_before, used_after = (total - before) * 100, (total - after) * 100
    return any(used_before < t * total <= used_after for t in thresholds)


def _follow_up(effects: _Effects, *, now: datetime, result) -> None:
    """Queue what the rated usage calls for; everything runs only if the chunk commits."""
    from simdesk.cards.network.services import network_request
    from simdesk.notifications.models import DEFAULT_USAGE_THRESHOLDS, NotificationPreferences
    from simdesk.renewals.models import RenewalSettings
    from simdesk.renewals.tasks import renewal_run

    from .tasks import card_alerts_check

    if effects.still_out:
        # Asked within the last few minutes: the network may still be acting on it.
        recent = set(NetworkAction.objects.filter(
            card_id__in=list(effects.still_out), action=NetworkActionKind.DISCONNECT,
            requested_at__gt=now - ASK_AGAIN_AFTER).values_list("card_id", flat=True))
        result.exhausted_card_ids |= set(effects.still_out)
        for card_id, reference in effects.still_out.items():
            if card_id not in recent and card_id not in effects.ran_out:
                effects.ran_out[card_id] = reference
    if effects.ran_out:
        for card in Card.objects.filter(pk__in=list(effects.ran_out)).order_by("pk"):
            reference = effects.ran_out[card.pk]
            # One request per cause: the record after which the card had nothing left.
            network_request(card=card, action=NetworkActionKind.DISCONNECT,
                            reason="out of data", now=now, dedupe_key=f"{reference}:out-of-data")
            result.exhausted_card_ids.add(card.pk)
    if not effects.changes:
        return
    card_ids = {c.card_id for c in effects.changes}
    owners = dict(Card.objects.filter(pk__in=_id_list(card_ids), owner__isnull=False)
                  .values_list("pk", "owner_id"))
    prefs = {user_id: (alerts, thresholds) for user_id, alerts, thresholds in
             NotificationPreferences.objects.filter(user_id__in=_id_list(set(owners.values())))
             .values_list("user_id", "alerts", "usage_thresholds")}
    low_data = dict(RenewalSettings.objects.filter(card_id__in=_id_list(card_ids), enabled=True,
                                                   trigger_low_data_percent__isnull=False)
                    .values_list("card_id", "trigger_low_data_percent"))
    alert, renew = set(), set()
    for c in effects.changes:
        if c.card_id in owners:
            alerts_on, thresholds = prefs.get(owners[c.card_id],
                                              (True, DEFAULT_USAGE_THRESHOLDS))
            if alerts_on and _crossed(c.total, c.before, c.after, thresholds):
                alert.add(c.card_id)
        percent = low_data.get(c.card_id)
        # Low data: remaining·100 ≤ percent·total, i.e. used share ≥ 100 − percent.
        if percent is not None and _crossed(c.total, c.before, c.after, [100 - percent]):
            renew.add(c.card_id)

    def enqueue():
        # One transaction for all (with the database task backend: one commit, not one
        # per job); a job lost here is found again by the alert and renewal sweeps.
        with transaction.atomic():
            for card_id in sorted(alert):
                card_alerts_check.enqueue(card_id=card_id)
            for card_id in sorted(renew):
                renewal_run.enqueue(card_id=card_id)

    if alert or renew:
        transaction.on_commit(enqueue)
