import sys

from django.core.management.base import BaseCommand, CommandError

from simdesk.cards.services import cards_import_csv
from simdesk.core.clock import utcnow


def text_bar(stream, width: int = 30):
    """A progress callback drawing ``[#####.....] 500/1000`` on ``stream``."""

    def draw(done: int, total: int) -> None:
        filled = width * done // total if total else width
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return draw


class Command(BaseCommand):
    help = ("Import cards from a CSV file with the header iccid, claim_code, activation_code, "
            "imsi, msisdn, eid. Good rows are imported; bad rows are listed. Exit code 1 when "
            "any row failed.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file (UTF-8), or - for standard input")

    def handle(self, *args, file, **options):
        try:
            stream = sys.stdin.buffer if file == "-" else open(file, "rb")  # noqa: SIM115
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from error
        with stream:
            report = cards_import_csv(stream=stream, now=utcnow(), progress=text_bar(self.stderr))
        self.stdout.write(f"{report.created} of {report.total} cards imported.")
        if report.errors:
            self.stdout.write(f"{report.failed_lines} rows were not imported:")
            for error in report.errors:
                self.stdout.write(f"  {error}")
            sys.exit(1)
