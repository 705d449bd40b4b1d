"""Operator card operations: look a card up, suspend or resume it, import cards from CSV."""

import io
from datetime import datetime
from uuid import UUID

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from simdesk.cards.models import Card
from simdesk.cards.services import card_resume, card_suspend, cards_import_csv
from simdesk.core.errors import ServiceError

from ..errors import problem_responses
from .auth import operator_auth
from .selectors import card_get_for_operator, card_lookup

router = Router(tags=["operator"])

MAX_IMPORT_BYTES = 5 * 1024 * 1024


class OperatorCardOut(Schema):
    id: UUID
    iccid: str
    imsi: str
    msisdn: str
    eid: str
    state: str
    state_changed_at: datetime | None
    claimed: bool
    owner: UUID | None = Field(description="The owning customer's id; null while unclaimed.")
    usage_updated_at: datetime | None
    overage_bytes: int


def operator_card_out(card: Card) -> dict:
    return {
        "id": card.public_id, "iccid": card.iccid, "imsi": card.imsi, "msisdn": card.msisdn,
        "eid": card.eid, "state": card.state, "state_changed_at": card.state_changed_at,
        "claimed": card.claimed_at is not None,
        "owner": card.owner.public_id if card.owner_id else None,
        "usage_updated_at": card.usage_updated_at, "overage_bytes": int(card.overage_bytes),
    }


@router.get("/operator/cards/lookup", auth=operator_auth("cards:read"),
            response={200: OperatorCardOut, **problem_responses(404)},
            summary="Find a card by ICCID, IMSI or MSISDN",
            description="Give exactly one of the three. Needs scope `cards:read`.")
def lookup_card(request: HttpRequest, iccid: str = "", imsi: str = "", msisdn: str = ""):
    return operator_card_out(card_lookup(iccid=iccid, imsi=imsi, msisdn=msisdn))


def _reason(request: HttpRequest, reason: str) -> str:
    text = (reason or "").strip()
    # The card's history shows which key acted (keys have no user to name).
    return (f"API key {request.auth.name}" + (f": {text}" if text else ""))[:200]


REASON = Query("", max_length=150, description="Why; kept in the card's history.")


@router.post("/operator/cards/{card_id}/suspend", auth=operator_auth("cards:admin"),
             response={200: OperatorCardOut, **problem_responses(409)}, summary="Suspend a card",
             description="Safe to repeat. Needs scope `cards:admin`.")
def suspend_card(request: HttpRequest, card_id: str, reason: str = REASON):
    card = card_get_for_operator(card_public_id=card_id)
    card = card_suspend(card=card, reason=_reason(request, reason), now=timezone.now())
    return operator_card_out(card)


@router.post("/operator/cards/{card_id}/resume", auth=operator_auth("cards:admin"),
             response={200: OperatorCardOut, **problem_responses(409)},
             summary="Resume a suspended card",
             description="Safe to repeat. Needs scope `cards:admin`.")
def resume_card(request: HttpRequest, card_id: str, reason: str = REASON):
    card = card_get_for_operator(card_public_id=card_id)
    card = card_resume(card=card, reason=_reason(request, reason), now=timezone.now())
    return operator_card_out(card)


class ImportErrorOut(Schema):
    line: int
    column: str
    message: str


class ImportReportOut(Schema):
    total: int = Field(description="Rows read (blank lines skipped).")
    created: int
    failed_lines: int
    ok: bool
    errors: list[ImportErrorOut]


@router.post("/operator/cards/import", auth=operator_auth("cards:admin"),
             response={200: ImportReportOut, **problem_responses(413)},
             summary="Import cards from CSV",
             description="The body is CSV text (UTF-8) with a header row naming at least "
                         "`iccid` and `claim_code` (also `activation_code`, `imsi`, `msisdn`, "
                         "`eid`). Good rows are imported; bad rows are reported with line and "
                         "column. Re-sending the same file imports nothing twice. A file "
                         "that cannot be read at all (not UTF-8, no header naming the "
                         "columns) is 400 "
                         "`invalid_csv`. Needs scope `cards:admin`.",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "text/csv": {"schema": {"type": "string"}}}}})
def import_cards(request: HttpRequest):
    body = request.body
    if not body.strip():
        raise ServiceError(_("Send the CSV file as the request body."), code="empty_body")
    if len(body) > MAX_IMPORT_BYTES:
        raise ServiceError(_("The file is larger than 5 MB. Split it and send the parts."),
                           code="too_large", status=413)
    if b"\x00" in body:  # not text; PostgreSQL could not store it either
        error = ServiceError(_("The file holds NUL characters: it is not CSV text."),
                             code="invalid_csv")
        error.errors = [{"field": "body", "message": str(error.message)}]
        raise error
    report = cards_import_csv(stream=io.BytesIO(body), now=timezone.now())
    if report.total == 0 and report.errors:  # the file itself was refused, not a row
        error = ServiceError(report.errors[0].message, code="invalid_csv")
        error.errors = [{"field": "body", "message": str(e.message)} for e in report.errors]
        raise error
    return {
        "total": report.total, "created": report.created,
        "failed_lines": report.failed_lines, "ok": report.ok,
        "errors": [{"line": e.line, "column": e.column, "message": str(e.message)}
                   for e in report.errors],
    }
