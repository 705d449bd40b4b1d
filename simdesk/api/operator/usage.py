"""Usage from the operator's network: ``POST /api/v1/usage`` with up to 10,000 records."""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from simdesk.api.errors import problem_responses
from simdesk.core.errors import ServiceError
from simdesk.usage.selectors import (
    CARD_IDENTIFIERS,
    card_identifier_normalize,
    card_ids_by_identifier,
)
from simdesk.usage.services import UsageRecord, usage_rate, usage_source_clean

from .auth import operator_auth

router = Router(tags=["operator"])

MAX_RECORDS = 10_000


class UsageIn(Schema):
    source: str | None = Field(
        None, max_length=64,
        description="Who measured the usage (a mediation system, a gateway). Record ids are "
                    "unique per source. Default: this API key (`key-<prefix>`); give one "
                    "explicitly to keep the same source across keys.")
    # Records are checked one by one below, so one bad record never refuses the others.
    records: list[Any] = Field(
        ..., description="Up to 10,000 records, each with `record_id`, one of `iccid`, `imsi` "
                         "or `msisdn`, `bytes_up`, `bytes_down`, `started_at` and `ended_at` "
                         "(ISO 8601 with a time zone).")


class RecordErrorOut(Schema):
    index: int = Field(description="Position of the record in `records`, from 0.")
    record_id: str
    code: str = Field(description="`unknown_card` or `invalid_record`.")
    reason: str


class UsageOut(Schema):
    source: str
    received: int
    applied: int = Field(description="Records rated now.")
    duplicates: int = Field(description="Records rated before (or twice in this call).")
    unknown_cards: int = Field(description="Records naming no card of ours.")
    rejected: int = Field(description="Records that are not valid.")
    errors: list[RecordErrorOut] = Field(description="Every record not rated, with why.")


def _bytes(value) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _datetime(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def _parse(index: int, raw: dict) -> tuple[tuple[str, str] | None, dict | None, str]:
    """(identifier, fields for UsageRecord, problem) of one raw record."""
    record_id = raw.get("record_id")
    if not isinstance(record_id, str) or not record_id.strip():
        return None, None, _("Give the record a record_id (text).")
    given = [(kind, raw[kind]) for kind in CARD_IDENTIFIERS if raw.get(kind) not in (None, "")]
    if len(given) != 1 or not isinstance(given[0][1], str):
        return None, None, _("Name the card with exactly one of iccid, imsi or msisdn (text).")
    kind, value = given[0]
    fields: dict = {"record_id": record_id}
    for name in ("bytes_up", "bytes_down"):
        fields[name] = _bytes(raw.get(name))
        if fields[name] is None:
            return None, None, _("%(name)s must be a whole number of bytes, 0 or more.") % {
                "name": name}
    for name in ("started_at", "ended_at"):
        fields[name] = _datetime(raw.get(name))
        if fields[name] is None:
            return None, None, _("%(name)s must be an ISO 8601 date and time with a time zone, "
                                 "e.g. 2026-06-01T12:00:00Z.") % {"name": name}
    return (kind, card_identifier_normalize(kind, value)), fields, ""


@router.post("/usage", auth=operator_auth("usage:write"),
             response={200: UsageOut, **problem_responses(400, 401, 403, 413, 429)},
             summary="Send usage records",
             description="Rates each record on its card once per (source, record_id): sending "
                         "a record again, or a whole batch again after a timeout, counts "
                         "nothing twice. Every record not rated is listed with the reason; "
                         "the others are rated regardless. At most 10,000 records per call "
                         "(413 beyond). Needs scope `usage:write`.")
def usage_post(request: HttpRequest, payload: UsageIn):
    if len(payload.records) > MAX_RECORDS:
        raise ServiceError(_("A call carries at most %(max)d records; this one has %(count)d. "
                             "Split it into several calls.")
                           % {"max": MAX_RECORDS, "count": len(payload.records)},
                           code="too_many_records", status=413)
    source = usage_source_clean(payload.source or f"key-{request.auth.prefix}")
    errors: list[dict] = []
    parsed: list[tuple[int, tuple[str, str], dict]] = []
    wanted: dict[str, set[str]] = {}
    for index, raw in enumerate(payload.records):
        identifier, fields, reason = _parse(index, raw) if isinstance(raw, dict) else (
            None, None, _("A record is a JSON object."))
        if reason:
            record_id = raw.get("record_id") if isinstance(raw, dict) else None
            errors.append({"index": index, "record_id": str(record_id or ""),
                           "code": "invalid_record", "reason": reason})
            continue
        parsed.append((index, identifier, fields))
        wanted.setdefault(identifier[0], set()).add(identifier[1])
    cards = card_ids_by_identifier(wanted)
    records, index_of, unknown = [], {}, 0
    for index, identifier, fields in parsed:
        card_id = cards.get(identifier)
        if card_id is None:
            unknown += 1
            errors.append({"index": index, "record_id": fields["record_id"],
                           "code": "unknown_card",
                           "reason": _("No card has this %(name)s.") % {
                               "name": identifier[0].upper()}})
            continue
        records.append(UsageRecord(card_id=card_id, **fields))
        index_of.setdefault(fields["record_id"], index)
    result = usage_rate(records, source=source, now=timezone.now())
    for record_id, reason in result.rejected:
        errors.append({"index": index_of.get(record_id, -1), "record_id": record_id,
                       "code": "invalid_record", "reason": str(reason)})
    errors.sort(key=lambda e: e["index"])
    return {"source": source, "received": len(payload.records), "applied": result.applied,
            "duplicates": result.duplicates, "unknown_cards": unknown,
            "rejected": len(errors) - unknown, "errors": errors}
