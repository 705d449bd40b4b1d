"""Staff card imports (through the cards app's CSV import) and the orders export for
accounting.

An import is recorded as one audit entry (action ``cards.import``) whose target is the
import itself: its id is a fresh UUID, and the entry holds the counts and the rows that
failed, so the error report can be downloaded later without a table of its own.
"""

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from simdesk.cards.services import ImportReport, cards_import_csv
from simdesk.core.audit import audit_key_used, audit_record
from simdesk.core.errors import ServiceError
from simdesk.core.models import AuditEntry
from simdesk.core.money import Money
from simdesk.core.spreadsheets import csv_lines, csv_text
from simdesk.orders.models import Order

IMPORT_ACTION = "cards.import"
MAX_IMPORT_BYTES = 5 * 1024 * 1024
# The audit entry keeps at most this many row errors (the counts are always whole): a file
# with more problems than that is the wrong file, and the audit log stays readable.
MAX_STORED_ERRORS = 1000


class CardImport:
    """What an import's audit entry points at: not a row of its own, just an id and the
    file's name (``audit_record`` reads ``public_id``, ``_meta.model_name`` and ``str``)."""

    class _meta:  # noqa: N801  (the shape of a model's _meta that the audit log reads)
        model_name = "cardimport"

    def __init__(self, *, public_id: uuid.UUID, file_name: str):
        self.public_id = public_id
        self.file_name = file_name

    def __str__(self) -> str:
        return self.file_name


@dataclass(frozen=True)
class ImportSummary:
    public_id: uuid.UUID
    file_name: str
    rows: int
    imported: int
    skipped: int
    errors: int
    errors_stored: int
    at: datetime | None = None

    @classmethod
    def from_entry(cls, entry: AuditEntry) -> "ImportSummary":
        after = entry.after
        return cls(public_id=uuid.UUID(entry.target_id), file_name=entry.target_label,
                   rows=after.get("rows", 0), imported=after.get("imported", 0),
                   skipped=after.get("skipped", 0), errors=after.get("errors", 0),
                   errors_stored=len(after.get("error_rows", [])), at=entry.at)


def staff_cards_import(*, data: bytes, file_name: str, acting_user, key: str,
                       now: datetime) -> ImportSummary:
    """Import cards from the CSV ``data`` (see ``cards_import_csv``: good rows land, bad
    rows and cards already in simdesk are reported) and record one audit entry with the
    counts and the failed rows. A file that cannot be read at all (too large, not text,
    not CSV, no ``iccid``/``claim_code`` header, no rows) is refused with ServiceError
    and changes nothing.

    Safe to call twice: the same ``key`` returns the first import's summary; the same
    file under a new key imports nothing twice (its cards are reported as present)."""
    if len(data) > MAX_IMPORT_BYTES:
        raise ServiceError(_("The file is larger than 5 MB. Split it and upload the parts."),
                           code="too_large")
    if not data.strip():
        raise ServiceError(_("The file is empty."), code="empty")
    if b"\x00" in data:
        raise ServiceError(_("The file holds NUL characters: it is not CSV text."),
                           code="invalid_csv")
    with transaction.atomic():
        if audit_key_used(key):
            return ImportSummary.from_entry(AuditEntry.objects.get(key=key))
        report: ImportReport = cards_import_csv(stream=io.BytesIO(data), now=now)
        if report.total == 0 and report.errors:  # the file itself was refused
            raise ServiceError(report.errors[0].message, code="invalid_csv")
        if report.total == 0:
            raise ServiceError(_("The file has a header row but no cards."), code="empty")
        target = CardImport(public_id=uuid.uuid4(), file_name=file_name[:200])
        failed_lines = report.failed_lines
        stored = [[error.line, error.column, str(error.message)]
                  for error in report.errors[:MAX_STORED_ERRORS]]
        entry = audit_record(
            actor=acting_user, action=IMPORT_ACTION, target=target, now=now,
            after={"file": target.file_name, "rows": report.total, "imported": report.created,
                   "skipped": failed_lines, "errors": len(report.errors),
                   "error_rows": stored},
            key=key)
    return ImportSummary.from_entry(entry)


def card_import_get(*, public_id) -> tuple[ImportSummary, list[list]]:
    """An import's summary and its stored error rows ``[line, column, message]``."""
    entry = AuditEntry.objects.filter(action=IMPORT_ACTION, target_id=str(public_id)).first()
    if entry is None:
        raise Http404
    return ImportSummary.from_entry(entry), entry.after.get("error_rows", [])


def recent_card_imports(*, limit: int = 10) -> list[ImportSummary]:
    entries = AuditEntry.objects.filter(action=IMPORT_ACTION).order_by("-at", "-pk")[:limit]
    return [ImportSummary.from_entry(entry) for entry in entries]


# --- CSV for spreadsheets ---------------------------------------------------------------------

def import_error_rows(errors: list[list]) -> Iterator[str]:
    return csv_lines(["line", "column", "message"],
                     ([line, csv_text(column), csv_text(message)]
                      for line, column, message in errors))


ORDER_EXPORT_HEADER = [
    "order_id", "created_at_utc", "paid_at_utc", "customer_email", "plan_code", "plan_name",
    "currency", "subtotal_minor", "discount_minor", "total_minor", "subtotal", "discount",
    "total", "status", "refunded_minor", "refunded", "gateway", "gateway_payment_id",
]


def _utc(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else ""


def orders_for_export(*, since: datetime, until: datetime):
    """Orders created in [since, until), oldest first, with what each row needs."""
    return (Order.objects.filter(created_at__gte=since, created_at__lt=until)
            .select_related("customer", "plan", "payment").order_by("created_at", "pk"))


def order_export_rows(*, since: datetime, until: datetime) -> Iterator[str]:
    """The accounting export as CSV lines, one per order created in [since, until):
    amounts in integer minor units (exact) and as decimal strings in the order's
    currency; times in UTC; the refunded amount and the gateway's payment id from the
    order's payment. Read in chunks, so a year of orders never sits in memory."""

    def rows():
        for order in orders_for_export(since=since, until=until).iterator(chunk_size=1000):
            payment = order.payment
            refunded = payment.refunded_minor if payment else 0
            yield [
                order.public_id, _utc(order.created_at), _utc(order.paid_at),
                csv_text(order.customer.email), csv_text(order.plan.code),
                csv_text(order.plan_name), order.currency,
                order.subtotal_minor, order.discount_minor, order.total_minor,
                order.subtotal.as_decimal(), order.discount.as_decimal(),
                order.total.as_decimal(), order.status, refunded,
                Money(refunded, order.currency).as_decimal(),
                csv_text(payment.gateway if payment else ""),
                csv_text(payment.gateway_payment_id if payment else ""),
            ]

    return csv_lines(ORDER_EXPORT_HEADER, rows())
