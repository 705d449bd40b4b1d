"""CSV files people open in a spreadsheet: text cells that can never run as formulas, and
rows written as they are produced (streamed) rather than held in memory."""

import csv
from collections.abc import Iterable, Iterator

# A cell starting with one of these is read as a formula by Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value) -> str:
    """A text cell a spreadsheet will not run as a formula: a leading = + - @, tab or CR
    gets an apostrophe in front."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV lines of ``header`` then ``rows``, one at a time (for StreamingHttpResponse)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)
