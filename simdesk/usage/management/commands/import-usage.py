import csv
import io
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from simdesk.core.clock import utcnow
from simdesk.core.errors import ServiceError
from simdesk.usage.intake import IntakeResult, usage_intake
from simdesk.usage.services import usage_rate_pending, usage_source_clean

BATCH = 10_000
SHOWN_ERRORS = 50


def progress_bar(stream, total: int, width: int = 30):
    """A callback drawing ``[#####.....] 500/1000 records read, 480 stored, 250 rated,
    1234/s`` on ``stream``."""
    started = time.monotonic()

    def draw(done: int, *, stored: int, rated: int, last: bool = False) -> None:
        filled = min(width * done // total, width) if total else width
        rate = done / max(time.monotonic() - started, 1e-6)
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} records read, "
                     f"{stored} stored, {rated} rated, {rate:.0f}/s")
        if last:
            stream.write("\n")
        stream.flush()

    return draw


class Command(BaseCommand):
    help = ("Rate usage records from a CSV file with the header record_id, one of iccid / imsi "
            "/ msisdn, bytes_up, bytes_down, started_at, ended_at (ISO 8601 with a time zone). "
            "Exactly once per (source, record_id): importing a file again counts nothing "
            "twice. The file is stored batch by batch and rated in runs as large as the "
            "rating takes (the rest at the end). Bad rows are listed with their line; the "
            "others are rated. Exit code 1 when any row was not rated.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file (UTF-8)")
        parser.add_argument("--source", default="import",
                            help="who measured the usage; record ids are unique per source "
                                 "(default: import)")

    def handle(self, *args, file, source, **options):
        try:
            source = usage_source_clean(source)
        except ServiceError as error:
            raise CommandError(str(error.message)) from error
        try:
            with open(file, "rb") as raw:
                total = max(sum(1 for _line in raw) - 1, 0)  # less the header
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from error
        draw = progress_bar(self.stderr, total)
        summary = IntakeResult()
        rated = 0

        def rate(*, full_runs_only: bool) -> None:
            nonlocal rated
            result = usage_rate_pending(now=utcnow(), full_runs_only=full_runs_only)
            rated += result.applied
            summary.exhausted_card_ids |= result.exhausted_card_ids

        def store(batch: list[tuple[int, dict]]) -> None:
            summary.add(usage_intake(batch, source=source, now=utcnow(), text=True, rate=False))
            # Between batches only full runs: a run costs per card, not per record, so a
            # file is rated in as few runs as it can be.
            rate(full_runs_only=True)
            draw(summary.received, stored=summary.applied, rated=rated)

        with open(file, encoding="utf-8-sig", newline="") as text:
            reader = csv.DictReader(text)
            names = set(reader.fieldnames or [])
            missing = {"record_id", "bytes_up", "bytes_down", "started_at", "ended_at"} - names
            if missing or not names & {"iccid", "imsi", "msisdn"}:
                raise CommandError(
                    "The header must name record_id, one of iccid / imsi / msisdn, bytes_up, "
                    f"bytes_down, started_at and ended_at (missing: "
                    f"{', '.join(sorted(missing)) or 'a card identifier'}).")
            batch: list[tuple[int, dict]] = []
            try:
                for row in reader:
                    batch.append((reader.line_num, row))
                    if len(batch) == BATCH:
                        store(batch)
                        batch = []
            except (csv.Error, UnicodeDecodeError) as error:
                # The records before it count: stored and rated, as a complete file's.
                if batch:
                    store(batch)
                rate(full_runs_only=False)
                draw(summary.received, stored=summary.applied, rated=rated, last=True)
                raise CommandError(f"{file}, line {reader.line_num}: {error} "
                                   f"({summary.received} records before it were read, "
                                   f"{summary.applied} of them stored and rated).") from error
            if batch:
                store(batch)
        rate(full_runs_only=False)
        draw(summary.received, stored=summary.applied, rated=rated, last=True)
        out = io.StringIO()
        out.write(f"{summary.received} records read from {file} (source {source}): "
                  f"{summary.applied} applied, {summary.duplicates} duplicates, "
                  f"{summary.unknown_cards} unknown cards, {summary.rejected} rejected.\n")
        if summary.exhausted_card_ids:
            out.write(f"{len(summary.exhausted_card_ids)} cards ran out of data.\n")
        for error in summary.errors[:SHOWN_ERRORS]:
            out.write(f"  line {error.index}: {error.record_id or '(no record id)'}: "
                      f"{error.reason}\n")
        if len(summary.errors) > SHOWN_ERRORS:
            out.write(f"  … and {len(summary.errors) - SHOWN_ERRORS} more.\n")
        self.stdout.write(out.getvalue().rstrip("\n"))
        if summary.errors:
            sys.exit(1)
