"""Usage from the operator's network: ``POST /api/v1/usage`` with up to 10,000 records."""

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from simdesk.api.errors import problem_responses
from simdesk.core.errors import ServiceError
from simdesk.usage.intake import usage_intake
from simdesk.usage.services import usage_source_clean

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
    duplicates: int = Field(description="Records received before (or twice in this call); "
                                        "each record counts once.")
    unknown_cards: int = Field(description="Records naming no card of ours.")
    rejected: int = Field(description="Records that are not valid.")
    errors: list[RecordErrorOut] = Field(description="Every record not rated, with why.")


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
    result = usage_intake(enumerate(payload.records), source=source, now=timezone.now())
    return {"source": source, "received": result.received, "applied": result.applied,
            "duplicates": result.duplicates, "unknown_cards": result.unknown_cards,
            "rejected": result.rejected,
            "errors": [{"index": e.index, "record_id": e.record_id, "code": e.code,
                        "reason": e.reason} for e in result.errors]}
