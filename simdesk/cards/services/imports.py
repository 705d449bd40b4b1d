"""Staff import of cards from a CSV file."""

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ..activation import activation_code_normalize
from ..iccid import iccid_normalize, validate_iccid
from ..models import Card, CardEvent, validate_eid, validate_imsi, validate_msisdn
from .claim import claim_code_normalize

REQUIRED_COLUMNS = ("iccid", "claim_code")
KNOWN_COLUMNS = ("iccid", "claim_code", "activation_code", "imsi", "msisdn", "eid")
UNIQUE_COLUMNS = ("iccid", "imsi", "msisdn")
_LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.message}"


@dataclass
class ImportReport:
    total: int = 0
    created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def failed_lines(self) -> int:
        return len({error.line for error in self.errors})

    @property
    def ok(self) -> bool:
        return not self.errors


def _messages(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


def _clean_row(line: int, raw: dict[str, str]) -> tuple[dict[str, str], list[RowError]]:
    """Validate and normalize one row; every problem in it is reported, not just the first."""
    errors: list[RowError] = []
    row = {name: (raw.get(name) or "").strip() for name in KNOWN_COLUMNS}

    row["iccid"] = iccid_normalize(row["iccid"])
    if not row["iccid"]:
        errors.append(RowError(line, "iccid", _("The ICCID is missing.")))
    else:
        try:
            validate_iccid(row["iccid"])
        except ValidationError as error:
            errors.append(RowError(line, "iccid", _messages(error)))

    row["claim_code"] = claim_code_normalize(row["claim_code"])
    if not row["claim_code"]:
        errors.append(RowError(line, "claim_code", _("The claim code is missing.")))
    elif not 6 <= len(row["claim_code"]) <= 64:
        errors.append(RowError(line, "claim_code",
                               _("A claim code has 6 to 64 letters and digits.")))

    if row["activation_code"]:
        try:
            row["activation_code"] = activation_code_normalize(row["activation_code"])
        except ValidationError as error:
            errors.append(RowError(line, "activation_code", _messages(error)))

    row["msisdn"] = row["msisdn"].removeprefix("+").replace(" ", "")
    for name, validator in (("imsi", validate_imsi), ("msisdn", validate_msisdn),
                            ("eid", validate_eid)):
        if row[name]:
            try:
                validator(row[name])
            except ValidationError as error:
                errors.append(RowError(line, name, _messages(error)))
    return row, errors


def _existing(column: str, values: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(values), _LOOKUP_CHUNK):
        chunk = values[start:start + _LOOKUP_CHUNK]
        found.update(Card.objects.filter(**{f"{column}__in": chunk})
                     .values_list(column, flat=True))
    return found


def cards_import_rows(*, rows: Iterable[tuple[int, dict[str, str]]], now: datetime,
                      progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import ``(line number, row)`` pairs; see ``cards_import_csv``."""
    rows = list(rows)
    report = ImportReport(total=len(rows))
    cleaned: list[tuple[int, dict[str, str]]] = []
    first_seen: dict[tuple[str, str], int] = {}
    for line, raw in rows:
        row, errors = _clean_row(line, raw)
        for column in UNIQUE_COLUMNS:
            value = row[column]
            if not value or any(e.column == column for e in errors):
                continue
            if (column, value) in first_seen:
                errors.append(RowError(line, column, _(
                    "%(value)s appears twice in the file (first on line %(first)d)."
                ) % {"value": value, "first": first_seen[(column, value)]}))
            else:
                first_seen[(column, value)] = line
        if errors:
            report.errors.extend(errors)
        else:
            cleaned.append((line, row))

    for column in UNIQUE_COLUMNS:
        taken = _existing(column, [row[column] for _line, row in cleaned if row[column]])
        if not taken:
            continue
        still = []
        for line, row in cleaned:
            if row[column] in taken:
                report.errors.append(RowError(line, column, _(
                    "A card with %(column)s %(value)s is already in simdesk."
                ) % {"column": column.upper(), "value": row[column]}))
            else:
                still.append((line, row))
        cleaned = still

    done = report.total - len(cleaned)
    if progress:
        progress(done, report.total)
    for line, row in cleaned:
        card = Card(iccid=row["iccid"], imsi=row["imsi"], msisdn=row["msisdn"], eid=row["eid"],
                    activation_code=row["activation_code"])
        card.set_claim_code(row["claim_code"])
        try:
            # One savepoint per row: a row lands whole or not at all, and a
            # failure (e.g. a concurrent import of the same ICCID) stops only it.
            with transaction.atomic():
                card.save()
                CardEvent.objects.create(card=card, kind=CardEvent.Kind.IMPORTED, at=now)
        except IntegrityError:
            report.errors.append(RowError(line, "iccid", _(
                "This card (or its IMSI or MSISDN) was added by someone else meanwhile."
            )))
        else:
            report.created += 1
        done += 1
        if progress and (done % 50 == 0 or done == report.total):
            progress(done, report.total)
    report.errors.sort(key=lambda e: (e.line, KNOWN_COLUMNS.index(e.column)
                                      if e.column in KNOWN_COLUMNS else 99))
    return report


def cards_import_csv(*, stream: IO[str] | IO[bytes], now: datetime,
                     progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import cards from CSV (header: iccid, claim_code, activation_code, imsi, msisdn, eid;
    other columns are ignored). Each row is validated first; good rows land, each whole
    in its own savepoint; bad rows, duplicates within the file and cards already in
    simdesk are reported with line number and column. Claim codes are stored hashed.

    Safe to run twice: the second run reports every card as already imported.
    """
    data = stream.read()
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return ImportReport(errors=[RowError(1, "-", _(
                "The file is not UTF-8 text. Save it as CSV UTF-8 and upload it again."))])
    data = data.removeprefix("\ufeff")
    # newline="": the csv module reads line ends itself, so a file saved with old Mac
    # line ends (a bare CR) is read as lines rather than refused.
    reader = csv.DictReader(io.StringIO(data, newline=""))
    try:
        header = [name.strip().lower() for name in (reader.fieldnames or [])]
    except csv.Error as error:
        return ImportReport(errors=[RowError(1, "-", _(
            "The file is not valid CSV: %(error)s") % {"error": error})])
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        return ImportReport(errors=[RowError(1, ",".join(missing), _(
            "The header row must name the columns iccid and claim_code; missing: %(missing)s."
        ) % {"missing": ", ".join(missing)})])
    reader.fieldnames = header

    def numbered():
        for raw in reader:
            if not any((value or "").strip() for key, value in raw.items()
                       if isinstance(value, str)):
                continue  # blank line
            yield reader.line_num, raw

    try:
        rows = list(numbered())
    except csv.Error as error:
        return ImportReport(errors=[RowError(reader.line_num, "-", _(
            "The file is not valid CSV: %(error)s") % {"error": error})])
    return cards_import_rows(rows=rows, now=now, progress=progress)
