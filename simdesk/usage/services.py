"""Rating usage from the network: each record applied to its card's periods exactly once.

``usage_rate`` is the one way usage enters simdesk in bulk (the batch API, the CSV
import, the RADIUS accounting server). It gives the same result as calling
``card_debit_usage`` for every distinct record, in the order of the records' times
(then record ids) per card: the same ledger rows with the same references
(``usage:<source>:<record id>``), balances, period moves and overage. It only gets
there faster (see ``rating.py``): a batch is applied in a few transactions, not one
per record.

Exactly once per (source, record id): the record's first ledger row (reference
``usage:<source>:<record id>``, ``seq`` 0, unique) is written in the transaction that
applies the record, so a record sent again, in the same batch, a later one, or by a
concurrent caller, finds it or collides on it and counts as a duplicate. A record of
0 bytes leaves a row of 0 bytes for the same reason. ``RatedRecord`` is the ledger's
view of the rated records.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _

from simdesk.core.errors import ServiceError

MAX_SOURCE_LENGTH = 64
MAX_RECORD_ID_LENGTH = 128
# A record cannot carry more than a terabyte: a larger number is a counter gone wrong.
MAX_RECORD_BYTES = 2 ** 40


@dataclass(frozen=True)
class UsageRecord:
    """One record of usage by one card: ``bytes_up + bytes_down`` used between
    ``started_at`` and ``ended_at``; it counts at ``ended_at``."""

    record_id: str  # unique per source
    card_id: int  # resolved card pk
    bytes_up: int
    bytes_down: int
    started_at: datetime
    ended_at: datetime

    @property
    def bytes(self) -> int:
        return self.bytes_up + self.bytes_down


@dataclass
class RatingResult:
    """What a batch did. ``applied`` counts records rated now, ``duplicates`` records
    rated before (or twice in the batch), ``rejected`` the (record id, reason) of records
    that could not be rated; ``exhausted_card_ids`` the cards that ran out of data in
    this batch or were already out and still sent usage (their usage is overage)."""

    applied: int = 0
    duplicates: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    exhausted_card_ids: set[int] = field(default_factory=set)

    def add(self, other: "RatingResult") -> None:
        self.applied += other.applied
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)
        self.exhausted_card_ids |= other.exhausted_card_ids


def usage_record_problem(record: UsageRecord) -> str:
    """Why ``record`` cannot be rated ("" when it can), in words for the sender."""
    if not isinstance(record.record_id, str):
        return _("The record id must be text.")
    if not record.record_id.strip():
        return _("The record has no record id.")
    if "\x00" in record.record_id:
        return _("The record id holds a NUL character.")
    if len(record.record_id) > MAX_RECORD_ID_LENGTH:
        return _("The record id is longer than %(max)d characters.") % {
            "max": MAX_RECORD_ID_LENGTH}
    if not isinstance(record.card_id, int) or isinstance(record.card_id, bool):
        return _("The record names no card.")
    for name, value in (("bytes_up", record.bytes_up), ("bytes_down", record.bytes_down)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return _("%(name)s must be a whole number of bytes, 0 or more.") % {"name": name}
    if record.bytes > MAX_RECORD_BYTES:
        return _("The record carries more than 1 TiB; check the counters.")
    for name, value in (("started_at", record.started_at), ("ended_at", record.ended_at)):
        if not isinstance(value, datetime) or value.tzinfo is None:
            return _("%(name)s needs a date and time with a time zone.") % {"name": name}
    if record.ended_at < record.started_at:
        return _("The record ends before it starts.")
    return ""


def usage_source_clean(source: str) -> str:
    source = (source or "").strip()
    if not source:
        raise ServiceError(_("Usage needs a source (who measured it)."), code="source_missing")
    if "\x00" in source:
        raise ServiceError(_("The usage source holds a NUL character."), code="invalid_source")
    if len(source) > MAX_SOURCE_LENGTH:
        raise ServiceError(_("The usage source is longer than %(max)d characters.")
                           % {"max": MAX_SOURCE_LENGTH}, code="source_too_long")
    return source


def usage_rate(records: Sequence[UsageRecord], *, source: str, now: datetime) -> RatingResult:
    """Apply each record not seen before from ``source`` to its card, exactly once.

    Per card, records are applied in the order of their time (``ended_at``, then
    record id), earliest-end period first, as ``card_debit_usage`` does: first-use
    periods start, used-up periods close and the next queued one starts, what no
    period can take is overage, ``usage_updated_at`` moves forward. Afterwards (after
    commit): a card that ran out gets a disconnect request to the network, cards
    that crossed an alert threshold get their alert check, and cards that crossed
    their low-data renewal trigger get a renewal run.

    A bad record (no id, negative bytes, an unknown card, …) is rejected with a
    reason and never stops the others. Safe to call again with the same records, and
    concurrently: every (source, record id) counts once.
    """
    from .rating import rate_batch

    source = usage_source_clean(source)
    return rate_batch(records, source=source, now=now)
