"""The usage side of the ledger invariant: every rated usage record applied exactly once.

A stored record with an id up to the rating cursor has been applied, on its card, by
either a rating run's rows for that card (``rating:<run>:<card>``, the card's plain
usage of the run summed; ``rating:<run>:<card>:<n>``, several of its records in one
debit) or rows of its own (``usage:<source>:<record id>``). So, per
card, the bytes of its rated records equal the usage and overage debits of those
rows. Usage debited by other means (``card_debit_usage`` with another reference) is
no record's and is outside this rule; ``cards.ledger_check`` checks every row's
balances.
"""

from collections import defaultdict
from collections.abc import Iterator

from django.db import connection
from django.db.models import Sum

from simdesk.cards.ledger_check import Violation
from simdesk.cards.models import Card, LedgerEntry, LedgerKind

from .models import (
    RATING_PREFIX,
    USAGE_PREFIX,
    RatingRun,
    Record,
    Source,
    rating_reference_parts,
)
from .selectors import usage_rated_through

USAGE_KINDS = (LedgerKind.DEBIT_USAGE, LedgerKind.OVERAGE)


def usage_violations() -> Iterator[Violation]:
    """Every card whose rated records and usage rows disagree, and every rating row
    that no run wrote."""
    rated = dict(Record.objects.filter(pk__lte=usage_rated_through()).values("card_id")
                 .annotate(total=Sum("bytes")).values_list("card_id", "total"))
    debited: dict[int, int] = defaultdict(int)
    runs = set(RatingRun.objects.values_list("pk", flat=True))
    rows = (LedgerEntry.objects.filter(kind__in=USAGE_KINDS,
                                       reference__startswith=RATING_PREFIX)
            .values_list("card_id", "reference", "bytes"))
    iccids = dict(Card.objects.values_list("pk", "iccid"))
    for card_id, reference, amount in rows.iterator(chunk_size=5000):
        debited[card_id] += -amount
        parts = rating_reference_parts(reference)
        if parts is None or parts[0] not in runs or parts[1] != card_id:
            yield Violation(iccids.get(card_id, f"#{card_id}"),
                            f"ledger row {reference} names no rating run of this card")
    for card_id, amount in _record_rows():
        debited[card_id] += amount
    for card_id in sorted(set(rated) | set(debited)):
        if rated.get(card_id, 0) != debited.get(card_id, 0):
            yield Violation(iccids.get(card_id, f"#{card_id}"),
                            f"rated usage records carry {rated.get(card_id, 0)} bytes but "
                            f"their usage rows debit {debited.get(card_id, 0)}")


def _record_rows() -> Iterator[tuple[int, int]]:
    """(card id, bytes debited) per card by the rows of stored records of their own
    (``usage:<source>:<record id>``)."""
    ledger, record, source = (LedgerEntry._meta.db_table, Record._meta.db_table,
                              Source._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT l.card_id, -SUM(l.bytes)
            FROM {record} r JOIN {source} s ON s.id = r.source_id
            JOIN {ledger} l ON l.reference = %s || s.name || ':' || r.record_id
            WHERE l.kind IN (%s, %s)
            GROUP BY l.card_id""", [USAGE_PREFIX, *USAGE_KINDS])  # noqa: S608
        yield from cursor.fetchall()
