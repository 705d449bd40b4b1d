"""The rating engine behind ``usage_rate``: group commit, set-based where nothing happens.

One transaction per chunk of records (``CHUNK``):

1. stage the records in a temporary table (COPY on PostgreSQL, executemany on SQLite);
2. lock their cards in card id order, so concurrent callers queue instead of
   deadlocking, and ``card_debit_usage`` on the same cards waits its turn; records of
   unknown cards are unstaged and rejected;
3. drop the records rated before: a record's claim is its own first ledger row
   (reference ``usage:<source>:<record id>``, ``seq`` 0, unique), so the staged
   records whose row exists are duplicates. Under the card locks nobody else can
   write a row for these cards' records; a record sent under two cards at once is
   caught by the unique key (see 4);
4. the common cases, set-based: a card whose only active period is started, limited,
   ends after the usage and now, and keeps data left after all of the card's new
   usage; and a card with no active or queued period left, whose usage is all
   overage. Nothing happens to them but arithmetic, so their ledger rows (one per
   record, the claim included) are inserted in one statement (``balance_after`` a
   running sum in record order), their periods and cards updated in one statement
   each. Should a row's key be taken meanwhile, the step is undone and the chunk
   goes the exact way;
5. every other card (a period runs out or starts, several periods, unlimited with
   fair use, a paused card, a late record after an end) goes through the exact
   per-record logic of ``card_debit_usage``, under the card lock taken in 2;
6. what follows is queued to run after commit: a disconnect request when a card
   ran out, the alert check and a renewal run for cards that crossed one of their
   thresholds.

Both ways write the same ledger rows in the same order (records of a card by time,
then record id), so ``simdesk check-ledger`` cannot tell them apart.

One row is written per record: its ledger row, which is also its claim. Durability is
the connection's own: rating changes no journal, synchronous or checkpoint setting
(on SQLite only the page cache grows), so committed usage is as durable as anything
else simdesk commits.

Where the time goes (PostgreSQL, 10,000 records on about 7,700 cards): the ledger
insert, then one update per touched period and per touched card (the balance and
"last updated" live on those rows), then the set-based decision which cards are
plain arithmetic; the repeat check is one index probe per record.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
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

from .models import usage_reference
from .services import MAX_RECORD_BYTES, MAX_RECORD_ID_LENGTH, RatingResult, usage_record_problem

logger = logging.getLogger(__name__)

# Records per transaction: large enough that commits are rare, small enough that a
# transaction holds its card locks for a fraction of a second.
CHUNK = 10_000
# Page cache of a SQLite connection that rates usage (KiB; at most, used as needed).
SQLITE_CACHE_KIB = 256 * 1024
# A card that ran out but still sends usage is asked to disconnect again at most this often.
ASK_AGAIN_AFTER = timedelta(minutes=5)

STAGE = "usage_stage"
FAST = "usage_fast"


@dataclass
class _Change:
    """A limited period's balance before and after the chunk, for threshold checks."""

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


def rate_batch(records: Sequence, *, source: str, now: datetime,
               chunk: int | None = None) -> RatingResult:
    """Check the records, drop repeats within the batch, rate the rest chunk by chunk."""
    chunk = chunk or CHUNK
    result = RatingResult()
    seen: set[str] = set()
    good = []
    for record in records:
        record_id = record.record_id
        # The usual record passes these inline checks; anything odd gets the full
        # check, which names the problem.
        try:
            up, down = record.bytes_up, record.bytes_down
            usual = (type(record_id) is str and 0 < len(record_id) <= MAX_RECORD_ID_LENGTH
                     and type(record.card_id) is int
                     and type(up) is int and type(down) is int and up >= 0 and down >= 0
                     and up + down <= MAX_RECORD_BYTES and record.ended_at.tzinfo is not None
                     and record.started_at.tzinfo is not None
                     and record.started_at <= record.ended_at and record_id.strip()
                     and "\x00" not in record_id)
        except (AttributeError, TypeError):
            usual = False
        if not usual:
            problem = usage_record_problem(record)
            if problem:
                result.rejected.append((str(record_id or ""), problem))
                continue
        if record_id in seen:
            result.duplicates += 1
            continue
        seen.add(record_id)
        good.append(record)
    # Equal chunks: 10,001 records are two chunks of about 5,000, not 10,000 and 1.
    parts = -(-len(good) // chunk)
    size = -(-len(good) // parts) if parts else 0
    for start in range(0, len(good), size or 1):
        result.add(_rate_chunk(good[start:start + size], source=source, now=now))
    return result


def _rate_chunk(records: list, *, source: str, now: datetime) -> RatingResult:
    result = RatingResult()
    with transaction.atomic(), connection.cursor() as cursor:
        if _is_postgres():
            # These statements are large but simple: compiling them (JIT) costs more
            # than it saves.
            cursor.execute("SET LOCAL jit = off")
        _stage(cursor, records, now=now)
        unknown = _lock_cards(cursor, cards=len({r.card_id for r in records}))
        result.rejected += [(record_id, _("No card has this id.")) for record_id in unknown]
        duplicates = _drop_seen(cursor, source=source)
        result.duplicates += duplicates
        result.applied += len(records) - len(unknown) - duplicates
        effects = _Effects()
        try:
            with transaction.atomic():
                _apply_fast(cursor, source=source, now=now, effects=effects)
        except IntegrityError:
            # Another caller rated one of these records meanwhile under another card
            # (the card locks do not cover it); the exact path finds its ledger row and
            # counts it as a duplicate.
            logger.info("usage from %s: a record was rated concurrently; rating the "
                        "chunk record by record", source)
            effects = _Effects()
            cursor.execute(f"DELETE FROM {FAST}")  # noqa: S608
        slow = _slow_records(cursor)
        if slow:
            by_id = {r.record_id: r for r in records}
            replayed = _apply_exact([by_id[i] for i in slow], source=source, now=now,
                                    effects=effects)
            result.applied -= replayed
            result.duplicates += replayed
        _follow_up(effects, now=now, result=result)
    return result


# --- 1, 2, 3: stage, lock, claim ---------------------------------------------------------

def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _stage(cursor, records: list, *, now: datetime) -> None:
    """The chunk's records (none repeated) in a temporary table, emptied first."""
    if _is_postgres():
        # ON COMMIT DELETE ROWS: nothing is left behind for the connection's next user.
        cursor.execute(f"""
            CREATE TEMP TABLE IF NOT EXISTS {STAGE} (
                record_id text NOT NULL, card_id bigint NOT NULL, bytes bigint NOT NULL,
                at timestamptz NOT NULL) ON COMMIT DELETE ROWS""")
        cursor.execute(f"""
            CREATE TEMP TABLE IF NOT EXISTS {FAST} (
                card_id bigint PRIMARY KEY, period_id bigint, total bigint,
                remaining bigint NOT NULL, bytes bigint NOT NULL, max_at timestamptz NOT NULL
            ) ON COMMIT DELETE ROWS""")
        cursor.execute(f"DELETE FROM {STAGE}")  # noqa: S608
        cursor.execute(f"DELETE FROM {FAST}")  # noqa: S608
        # Binary: no number or time formatted as text by us, parsed back by the server
        # (about a tenth of the client's work of a text COPY).
        with cursor.copy(f"COPY {STAGE} (record_id, card_id, bytes, at) "
                         f"FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["text", "int8", "int8", "timestamptz"])
            write = copy.write_row
            for r in records:
                ended = r.ended_at
                # A network clock ahead of ours must not start periods in the future.
                write((r.record_id, r.card_id, r.bytes_up + r.bytes_down,
                       ended if ended <= now else now))
        if len(records) >= 1000:
            # Statistics, so the joins below are planned for thousands of rows (hash
            # joins), not a guess; a small batch (RADIUS) is best served by index lookups.
            # The card is the column every join and grouping uses; the others' statistics
            # (record ids above all: text to sort) cost more to compute than they help.
            cursor.execute(f"ANALYZE {STAGE} (card_id)")
        return
    cursor.execute("PRAGMA cache_size")
    if cursor.fetchone()[0] > -SQLITE_CACHE_KIB:
        # Rating inserts ledger rows all over its card and period indexes; with SQLite's
        # default 2 MB page cache nearly every insert reads its index pages again.
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    cursor.execute(f"""
        CREATE TEMP TABLE IF NOT EXISTS {STAGE} (
            record_id text NOT NULL, card_id integer NOT NULL, bytes integer NOT NULL,
            at text NOT NULL)""")
    cursor.execute(f"""
        CREATE TEMP TABLE IF NOT EXISTS {FAST} (
            card_id integer PRIMARY KEY, period_id integer, total integer,
            remaining integer NOT NULL, bytes integer NOT NULL, max_at text NOT NULL)""")
    cursor.execute(f"DELETE FROM {STAGE}")  # noqa: S608
    cursor.execute(f"DELETE FROM {FAST}")  # noqa: S608
    text = _sqlite_datetime
    now_text = text(now)
    rows = [(r.record_id, r.card_id, r.bytes_up + r.bytes_down,
             text(r.ended_at) if r.ended_at <= now else now_text) for r in records]
    cursor.executemany(f"INSERT INTO {STAGE} VALUES (%s, %s, %s, %s)", rows)  # noqa: S608


def _sqlite_datetime(value: datetime) -> str:
    """Django's SQLite form of an aware datetime (naive UTC text), without its overhead."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ")[:-6]  # less "+00:00"


def _lock_cards(cursor, *, cards: int) -> list[str]:
    """Lock the staged records' cards (``cards`` of them) in id order; unstage records of
    unknown cards and return their record ids."""
    card = Card._meta.db_table
    if _is_postgres():
        cursor.execute(f"""
            SELECT id FROM {card} WHERE id IN (SELECT card_id FROM {STAGE})
            ORDER BY id FOR UPDATE""")  # noqa: S608
        if cursor.rowcount == cards:
            # Every card exists (the usual case): no second pass over the cards.
            return []
    # (SQLite: the transaction holds the database's write lock since BEGIN IMMEDIATE.)
    cursor.execute(f"""
        DELETE FROM {STAGE} WHERE NOT EXISTS (SELECT 1 FROM {card} c
                                              WHERE c.id = {STAGE}.card_id)
        RETURNING record_id""")  # noqa: S608
    return sorted(row[0] for row in cursor.fetchall())


def _drop_seen(cursor, *, source: str) -> int:
    """Unstage (and count) the records rated before: those whose first ledger row exists.

    The cards are locked, so a record of a locked card cannot be rated by anyone else
    before we commit (PostgreSQL: this statement sees every commit made before the
    locks were granted; SQLite: the transaction holds the write lock). A record sent
    by two callers under two different cards is caught by the ledger's unique key.
    """
    ledger = LedgerEntry._meta.db_table
    # One probe of the (reference, seq) index per record. PostgreSQL would rather hash
    # the whole ledger (its cost model cannot know that the probes are cheap and the
    # ledger is large and growing); OFFSET 0 keeps the subquery a per-row probe.
    probe_only = " OFFSET 0" if _is_postgres() else ""
    cursor.execute(f"""
        DELETE FROM {STAGE} WHERE EXISTS (
            SELECT 1 FROM {ledger} l
            WHERE l.reference = %s || {STAGE}.record_id AND l.seq = 0{probe_only})
        """, [usage_reference(source, "")])  # noqa: S608
    return cursor.rowcount


# --- 4: the set-based common cases --------------------------------------------------------

def _apply_fast(cursor, *, source: str, now: datetime, effects: _Effects) -> None:
    """Two cases need nothing but arithmetic: a card whose only active period simply
    takes all of its new usage, and a card with no active or queued period left, whose
    usage is all overage (it ran out earlier and the network has not cut it off yet)."""
    period = Period._meta.db_table
    card = Card._meta.db_table
    ledger = LedgerEntry._meta.db_table
    now_value = now if _is_postgres() else _sqlite_datetime(now)
    # Ties in time are broken by record id in code point order, as the exact path (Python)
    # does, whatever the database's collation (SQLite compares text that way already).
    by_code_point = ' COLLATE "C"' if _is_postgres() else ""
    # The card's only active period: started, limited, ending after the usage and now,
    # keeping data after all of it; the card active (nothing for card_sync_state to do).
    cursor.execute(f"""
        INSERT INTO {FAST} (card_id, period_id, total, remaining, bytes, max_at)
        SELECT a.card_id, o.period_id, o.total, o.remaining, a.bytes, a.max_at
        FROM (SELECT card_id, CAST(SUM(bytes) AS BIGINT) AS bytes,
                     MAX(at) AS max_at
              FROM {STAGE} GROUP BY card_id) a
        JOIN (SELECT p.card_id, MIN(p.id) AS period_id, COUNT(*) AS n,
                     MIN(p.total_bytes) AS total, MIN(p.remaining_bytes) AS remaining,
                     MIN(p.ends_at) AS ends_at,
                     MAX(CASE WHEN p.unlimited OR p.ends_at IS NULL THEN 1 ELSE 0 END) AS odd
              FROM {period} p JOIN {card} c ON c.id = p.card_id
              WHERE p.state = %s AND c.state = %s
                AND p.card_id IN (SELECT card_id FROM {STAGE})
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
               CAST(SUM(s.bytes) AS BIGINT), MAX(s.at)
        FROM {STAGE} s JOIN {card} c ON c.id = s.card_id
        WHERE c.state <> %s
          AND NOT EXISTS (SELECT 1 FROM {period} q
                          WHERE q.card_id = s.card_id AND q.state IN (%s, %s))
        GROUP BY s.card_id, c.overage_bytes
        """, [CardState.ACTIVE, PS.ACTIVE, PS.QUEUED])  # noqa: S608
    overage = cursor.rowcount
    if not taken and not overage:
        return
    # One ledger row per record (0 bytes too: the row is what makes a record count
    # once), in the order card_debit_usage would write them; a running sum gives each
    # row's balance after it (for overage: minus the card's overage so far).
    cursor.execute(f"""
        INSERT INTO {ledger} (card_id, period_id, kind, bytes, balance_after, reference, seq,
                              at, created_at, note)
        SELECT card_id, period_id, CASE WHEN period_id IS NULL THEN %s ELSE %s END, -bytes,
               CASE WHEN period_id IS NULL THEN -(remaining + used) ELSE remaining - used END,
               %s || record_id, 0, at, %s, ''
        FROM (SELECT s.card_id, f.period_id, f.remaining, s.record_id, s.at,
                     s.bytes AS bytes,
                     SUM(s.bytes) OVER (
                         PARTITION BY s.card_id ORDER BY s.at, s.record_id{by_code_point}
                         ROWS UNBOUNDED PRECEDING) AS used
              FROM {STAGE} s JOIN {FAST} f ON f.card_id = s.card_id) u
        ORDER BY card_id, at, record_id{by_code_point}
        """, [LedgerKind.OVERAGE, LedgerKind.DEBIT_USAGE,  # noqa: S608
              usage_reference(source, ""), now_value])
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
            SELECT card_id, record_id FROM (
                SELECT s.card_id, s.record_id, ROW_NUMBER() OVER (
                    PARTITION BY s.card_id ORDER BY s.at, s.record_id{by_code_point}) AS n
                FROM {STAGE} s JOIN {FAST} f ON f.card_id = s.card_id
                WHERE f.period_id IS NULL AND s.bytes > 0) first
            WHERE n = 1""")  # noqa: S608
        for card_id, record_id in cursor.fetchall():
            effects.still_out[card_id] = usage_reference(source, record_id)


def _slow_records(cursor) -> list[str]:
    """Staged (new) records of the cards the set-based step did not take."""
    cursor.execute(f"""
        SELECT record_id FROM {STAGE} s
        WHERE NOT EXISTS (SELECT 1 FROM {FAST} f WHERE f.card_id = s.card_id)
        """)  # noqa: S608
    return [row[0] for row in cursor.fetchall()]


# --- 5: the exact path -------------------------------------------------------------------

def _apply_exact(records: list, *, source: str, now: datetime, effects: _Effects) -> int:
    """``card_debit_usage`` for each record, card by card in id order, each card's
    records by time then record id. Returns how many it found applied before."""
    by_card: dict[int, list] = defaultdict(list)
    for record in records:
        by_card[record.card_id].append(record)
    replayed = 0
    for card_id in sorted(by_card):
        rows = sorted(by_card[card_id],
                      key=lambda r: (r.ended_at if r.ended_at <= now else now, r.record_id))
        card = Card.objects.get(pk=card_id)
        before = _limited_balances(card_id)
        for record in rows:
            debit = card_debit_usage(card=card, bytes=record.bytes,
                                     reference=usage_reference(source, record.record_id),
                                     at=record.ended_at, now=now)
            # Not applied: the record was rated meanwhile (see _rate_chunk), or its
            # reference given to card_debit_usage directly; it counted then.
            if not debit.applied:
                replayed += 1
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
    return replayed


def _limited_balances(card_id: int) -> dict[int, tuple[int, int]]:
    return {pk: (total, remaining) for pk, total, remaining in
            Period.objects.filter(card_id=card_id, state=PS.ACTIVE, unlimited=False)
            .values_list("pk", "total_bytes", "remaining_bytes")}


# --- 6: what follows ---------------------------------------------------------------------

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
    owners = dict(Card.objects.filter(pk__in=card_ids, owner__isnull=False)
                  .values_list("pk", "owner_id"))
    prefs = {user_id: (alerts, thresholds) for user_id, alerts, thresholds in
             NotificationPreferences.objects.filter(user_id__in=set(owners.values()))
             .values_list("user_id", "alerts", "usage_thresholds")}
    low_data = dict(RenewalSettings.objects.filter(card_id__in=card_ids, enabled=True,
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
