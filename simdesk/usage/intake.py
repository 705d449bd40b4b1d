"""Usage records as senders write them (JSON objects, CSV rows) turned into ``UsageRecord``s.

Shared by the batch API and ``simdesk import-usage`` so both accept and refuse the
same records with the same reasons. A record names its card by exactly one of
``iccid``, ``imsi`` or ``msisdn``; all cards of a batch are found in one query per kind.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from .selectors import CARD_IDENTIFIERS, card_identifier_normalize, card_ids_by_identifier
from .services import RatingResult, UsageRecord, usage_rate, usage_store


@dataclass
class RecordError:
    index: int  # position in what was sent (for a file: the line number)
    record_id: str
    code: str  # "unknown_card" or "invalid_record"
    reason: str


@dataclass
class IntakeResult:
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    unknown_cards: int = 0
    errors: list[RecordError] = field(default_factory=list)
    exhausted_card_ids: set[int] = field(default_factory=set)

    @property
    def rejected(self) -> int:
        return len(self.errors) - self.unknown_cards

    def add(self, other: "IntakeResult") -> None:
        self.received += other.received
        self.applied += other.applied
        self.duplicates += other.duplicates
        self.unknown_cards += other.unknown_cards
        self.errors.extend(other.errors)
        self.exhausted_card_ids |= other.exhausted_card_ids


def _bytes(value, text: bool) -> int | None:
    if text and isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if type(value) is int and value >= 0 else None


def _datetime(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def _parse(raw, text: bool) -> tuple[tuple[str, str] | None, dict | None, str]:
    """(card identifier, UsageRecord fields but the card, problem) of one raw record."""
    if not isinstance(raw, dict):
        return None, None, _("A record is an object with named fields.")
    record_id = raw.get("record_id")
    if not isinstance(record_id, str) or not record_id.strip():
        return None, None, _("Give the record a record_id (text).")
    given = [(kind, raw[kind]) for kind in CARD_IDENTIFIERS if raw.get(kind) not in (None, "")]
    if len(given) != 1 or not isinstance(given[0][1], str):
        return None, None, _("Name the card with exactly one of iccid, imsi or msisdn (text).")
    kind, value = given[0]
    fields: dict = {"record_id": record_id}
    for name in ("bytes_up", "bytes_down"):
        fields[name] = _bytes(raw.get(name), text)
        if fields[name] is None:
            return None, None, _("%(name)s must be a whole number of bytes, 0 or more.") % {
                "name": name}
    for name in ("started_at", "ended_at"):
        fields[name] = _datetime(raw.get(name))
        if fields[name] is None:
            return None, None, _("%(name)s must be an ISO 8601 date and time with a time zone, "
                                 "e.g. 2026-06-01T12:00:00Z.") % {"name": name}
    return (kind, card_identifier_normalize(kind, value)), fields, ""


def usage_intake(raw_records: Iterable[tuple[int, object]], *, source: str, now: datetime,
                 text: bool = False, rate: bool = True) -> IntakeResult:
    """Check and rate one batch of raw records, each given with its position.

    ``text``: numbers may come as digit strings (CSV). Records that cannot be read, or
    name no known card, are listed with why; the others go to ``usage_rate``, or with
    ``rate=False`` to ``usage_store`` only (``applied`` then counts records stored, to be
    rated by ``usage_rate_pending``; a bulk import rates its batches in full runs).
    """
    out = IntakeResult()
    parsed = []
    wanted: dict[str, set[str]] = {}
    for index, raw in raw_records:
        out.received += 1
        identifier, fields, reason = _parse(raw, text)
        if reason:
            record_id = raw.get("record_id") if isinstance(raw, dict) else None
            out.errors.append(RecordError(index, str(record_id or ""), "invalid_record",
                                          reason))
            continue
        parsed.append((index, identifier, fields))
        wanted.setdefault(identifier[0], set()).add(identifier[1])
    cards = card_ids_by_identifier(wanted)
    records, index_of = [], {}
    for index, identifier, fields in parsed:
        card_id = cards.get(identifier)
        if card_id is None:
            out.unknown_cards += 1
            out.errors.append(RecordError(index, fields["record_id"], "unknown_card",
                                          _("No card has this %(name)s.")
                                          % {"name": identifier[0].upper()}))
            continue
        records.append(UsageRecord(card_id=card_id, **fields))
        index_of.setdefault(fields["record_id"], index)
    result: RatingResult = (usage_rate(records, source=source, now=now) if rate
                            else usage_store(records, source=source))
    out.applied, out.duplicates = result.applied, result.duplicates
    out.exhausted_card_ids = result.exhausted_card_ids
    for record_id, reason in result.rejected:
        out.errors.append(RecordError(index_of.get(record_id, -1), record_id, "invalid_record",
                                      str(reason)))
    out.errors.sort(key=lambda e: e.index)
    return out
