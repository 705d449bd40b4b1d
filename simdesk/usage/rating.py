"""The rating engine behind ``usage_rate``: group commit, set-based where nothing happens.

One transaction per chunk of records (``CHUNK``):

1. lock the chunk's cards, in card id order (so concurrent callers queue instead of
   deadlocking, and ``card_debit_usage`` on the same cards waits its turn);
2. insert a ``RatedRecord`` per record, in record id order, skipping the ones already
   there (``ON CONFLICT DO NOTHING RETURNING``): what comes back is new, the rest are
   duplicates — decided by the database, so concurrent callers agree;
3. apply the new records per card with the exact per-record logic of
   ``card_debit_usage``;
4. queue what follows (network request, alert check, renewal, integration event)
   to run after commit.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils.translation import gettext as _

from simdesk.cards.models import Card, NetworkActionKind, Period, PeriodState
from simdesk.cards.services import card_debit_usage

from .models import RatedRecord, usage_reference

logger = logging.getLogger(__name__)

# Records per transaction: large enough that a commit is rare, small enough that a
# transaction holds its card locks for well under a second.
CHUNK = 10_000


@dataclass
class _Effects:
    """What the rated records did to a card, for the work that follows the commit."""

    ran_out_reference: str = ""  # the record after which the card had no data left
    exhausted: list[Period] = field(default_factory=list)
    crossed: bool = False  # the used share of a limited period moved: check alerts/renewal


def rate_batch(records: Sequence, *, source: str, now: datetime):
    from .services import RatingResult, usage_record_problem

    result = RatingResult()
    seen: set[str] = set()
    good = []
    for record in records:
        problem = usage_record_problem(record)
        if problem:
            result.rejected.append((str(record.record_id or ""), problem))
            continue
        if record.record_id in seen:
            result.duplicates += 1
            continue
        seen.add(record.record_id)
        good.append(record)
    for start in range(0, len(good), CHUNK):
        result.add(_rate_chunk(good[start:start + CHUNK], source=source, now=now))
    return result


def _rate_chunk(records: list, *, source: str, now: datetime):
    from .services import RatingResult

    result = RatingResult()
    card_ids = sorted({r.card_id for r in records})
    with transaction.atomic():
        locked = set(Card.objects.select_for_update().filter(pk__in=card_ids)
                     .order_by("pk").values_list("pk", flat=True))
        known = []
        for record in records:
            if record.card_id in locked:
                known.append(record)
            else:
                result.rejected.append((record.record_id, _("No card has this id.")))
        new = _claim(known, source=source, now=now)
        result.duplicates += len(known) - len(new)
        by_card: dict[int, list] = defaultdict(list)
        for record in new:
            by_card[record.card_id].append(record)
        effects: dict[int, _Effects] = {}
        for card_id in sorted(by_card):
            rows = sorted(by_card[card_id], key=lambda r: (min(r.ended_at, now), r.record_id))
            applied, effect = _apply_exact(card_id, rows, source=source, now=now)
            result.applied += applied
            result.duplicates += len(rows) - applied
            effects[card_id] = effect
        _follow_up(effects, source=source, now=now, result=result)
    return result


def _claim(records: list, *, source: str, now: datetime) -> list:
    """Insert the records' RatedRecord rows; return the records that were new."""
    if not records:
        return []
    table = RatedRecord._meta.db_table
    ordered = sorted(records, key=lambda r: r.record_id)
    by_id = {r.record_id: r for r in ordered}
    new_ids: set[str] = set()
    step = 3000  # SQLite allows 32,766 parameters in one statement
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), step):
            part = ordered[start:start + step]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(part))
            params = []
            for r in part:
                params += [source, r.record_id, r.card_id, r.bytes_up, r.bytes_down,
                           r.started_at, r.ended_at, now]
            sql = (f"INSERT INTO {table} (source, record_id, card_id, bytes_up, "  # noqa: S608
                   f"bytes_down, started_at, ended_at, rated_at) VALUES {values} "
                   f"ON CONFLICT (source, record_id) DO NOTHING RETURNING record_id")
            cursor.execute(sql, params)
            new_ids.update(row[0] for row in cursor.fetchall())
    return [by_id[i] for i in sorted(new_ids)]


def _limited_shares(card_id: int) -> dict[int, tuple[int, int]]:
    return {pk: (total, remaining) for pk, total, remaining in
            Period.objects.filter(card_id=card_id, state=PeriodState.ACTIVE, unlimited=False)
            .values_list("pk", "total_bytes", "remaining_bytes")}


def _apply_exact(card_id: int, records: list, *, source: str, now: datetime):
    """``card_debit_usage`` for each record of one (locked) card, in order."""
    card = Card.objects.get(pk=card_id)
    before = _limited_shares(card_id)
    effect = _Effects()
    applied = 0
    for record in records:
        debit = card_debit_usage(card=card, bytes=record.bytes,
                                 reference=usage_reference(source, record.record_id),
                                 at=record.ended_at, now=now)
        # Not applied: a zero-byte record (nothing to apply, but it was rated) or a
        # reference ``card_debit_usage`` had been given directly before (a duplicate).
        if debit.applied or record.bytes == 0:
            applied += 1
        effect.exhausted.extend(debit.exhausted)
        if debit.ran_out and (debit.exhausted or debit.overage_bytes) \
                and not effect.ran_out_reference:
            effect.ran_out_reference = debit.reference
    after = Period.objects.filter(pk__in=list(before)).values_list("pk", "total_bytes",
                                                                     "remaining_bytes")
    for pk, total, remaining in after:
        old_total, old_remaining = before[pk]
        if total and old_total and _percent(old_total, old_remaining) != _percent(total,
                                                                                  remaining):
            effect.crossed = True
    if effect.exhausted:
        effect.crossed = True
    return applied, effect


def _percent(total: int, remaining: int) -> int:
    return (total - remaining) * 100 // total


def _follow_up(effects: dict[int, "_Effects"], *, source: str, now: datetime, result) -> None:
    """Queue what the rated usage calls for; everything runs only if the chunk commits."""
    from simdesk.cards.network.services import network_request
    from simdesk.renewals.tasks import renewal_run

    from .tasks import card_alerts_check

    out = [card_id for card_id, e in effects.items() if e.ran_out_reference]
    if out:
        for card in Card.objects.filter(pk__in=out).order_by("pk"):
            reference = effects[card.pk].ran_out_reference
            # One request per cause: the record after which the card had nothing left.
            network_request(card=card, action=NetworkActionKind.DISCONNECT,
                            reason="out of data", now=now, dedupe_key=f"{reference}:out-of-data")
            result.exhausted_card_ids.add(card.pk)
    crossed = sorted(card_id for card_id, e in effects.items() if e.crossed)

    def enqueue():
        for card_id in crossed:
            card_alerts_check.enqueue(card_id=card_id)
            renewal_run.enqueue(card_id=card_id)

    if crossed:
        transaction.on_commit(enqueue)
