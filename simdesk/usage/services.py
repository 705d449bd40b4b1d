"""Usage from the network: each record stored once and applied to its card once.

Usage enters simdesk in bulk (the batch API, the CSV import, the RADIUS accounting
server) in two steps (see ``rating.py``): ``usage_store`` keeps each record not seen
before from its source as a ``Record`` row, the record's claim, so a record sent
again, in the same batch, a later one, or by a concurrent caller, counts as a
duplicate; ``usage_rate_pending`` applies stored records to their cards in rating
runs, in the order they were stored, each exactly once. ``usage_rate`` does both, so
its caller's records are applied when it returns.

Applying a record gives the same balances as calling ``card_debit_usage`` for every
record in the order of their times (then record ids) per card: the same periods
started and used up, the same overage. The ledger takes a card's plain usage as one
row per rating run and quarter of an hour (``rating:<run>:<card>``), and a record
that moves a period on as rows of its own (``usage:<source>:<record id>``).
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
    """What storing or rating did. Storing: ``applied`` counts records stored now,
    ``duplicates`` records stored before (or twice in the batch), ``rejected`` the
    (record id, reason) of records that cannot be rated. Rating: ``applied`` counts
    records rated, ``exhausted_card_ids`` the cards that ran out of data in the runs
    or were already out and still sent usage (their usage is overage); for
    ``usage_rate`` these are the cards of the runs it made, which may hold other
    callers' records (and a caller whose records another caller's run rated made
    none)."""

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
    if ":" in source:
        # A record is named usage:<source>:<record id> in the ledger; a colon in the
        # source would let two records of two sources share one name.
        raise ServiceError(_("The usage source cannot hold a colon (:)."),
                           code="invalid_source")
    if len(source) > MAX_SOURCE_LENGTH:
        raise ServiceError(_("The usage source is longer than %(max)d characters.")
                           % {"max": MAX_SOURCE_LENGTH}, code="source_too_long")
    return source


def usage_store(records: Sequence[UsageRecord], *, source: str) -> RatingResult:
    """Keep each record not seen before from ``source``, durably (it is committed when
    this returns), to be applied by ``usage_rate_pending``.

    Returns ``applied``: records stored now, ``duplicates``: records stored before (or
    twice in this batch), ``rejected``: (record id, reason) of records that cannot be
    rated (no id, negative bytes, an unknown card, …); a bad record never stops the
    others. Safe to call again with the same records, and concurrently.
    """
    from .rating import store

    return store(records, source=usage_source_clean(source))[0]


def usage_rate_pending(*, now: datetime, full_runs_only: bool = False) -> RatingResult:
    """Apply every stored record not yet applied, in the order they were stored, in
    rating runs of up to ``rating.CHUNK`` records (``full_runs_only``: only as many
    full runs as wait; a bulk import calls it so between batches, then once without).

    Per card, records are applied in the order of their time (``ended_at``, then
    record id), earliest-end period first, as ``card_debit_usage`` does: first-use
    periods start, used-up periods close and the next queued one starts, what no
    period can take is overage, ``usage_updated_at`` moves forward. Afterwards (after
    commit): a card that ran out gets a disconnect request to the network, cards
    that crossed an alert threshold get their alert check, and cards that crossed
    their low-data renewal trigger get a renewal run. Returns ``applied``: records
    applied, and ``exhausted_card_ids``.
    """
    from .rating import rate_pending

    return rate_pending(now=now, full_runs_only=full_runs_only)


def usage_rate(records: Sequence[UsageRecord], *, source: str, now: datetime) -> RatingResult:
    """``usage_store`` the records, then apply them (and any others waiting before
    them) as ``usage_rate_pending`` does; they are applied when this returns.

    Returns what ``usage_store`` did, with ``exhausted_card_ids`` from the rating.
    Concurrent callers share rating runs: one whose records a run of another caller
    applied returns without a run of its own. A batch sent again (all duplicates)
    still rates what waits up to its records, so a retry after a caller stopped
    between storing and rating finds them applied when it returns.
    """
    from .rating import rate_pending, store

    result, last = store(records, source=usage_source_clean(source))
    if last:
        result.exhausted_card_ids = rate_pending(now=now, until=last).exhausted_card_ids
    return result
