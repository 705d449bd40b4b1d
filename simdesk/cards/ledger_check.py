"""The ledger invariant, checkable at any time (``simdesk check-ledger``).

For every period: credits − debits = remaining (the sum of its rows equals
``remaining_bytes``), ``total_bytes`` equals its credits, ``used_bytes`` its usage
debits, the balance never goes below zero and every ``balance_after`` follows
from the row before. For every card: overage rows add up to ``overage_bytes``.
Every cause (``reference``) is applied once: its rows are numbered 0, 1, 2…
on one card, with no gap and no repeat. For usage this is the record's exactly-once
rule: a usage record's claim is its row 0 (``usage:<source>:<record id>``; 0 bytes
for a record that carried none), and the rows after it are the same record going on
to the next period or to overage. Every row names a card that exists and
(but for overage) one of that card's periods.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, F, Max, Min, Q, Sum

from .models import LEDGER_CREDIT_KINDS, Card, LedgerEntry, LedgerKind, Period


@dataclass(frozen=True)
class Violation:
    iccid: str
    message: str

    def __str__(self) -> str:
        return f"card {self.iccid}: {self.message}"


def _period_sums() -> dict[int, dict]:
    rows = LedgerEntry.objects.filter(period__isnull=False).values("period_id").annotate(
        total=Sum("bytes"),
        credits=Sum("bytes", filter=Q(kind__in=LEDGER_CREDIT_KINDS)),
        usage=Sum("bytes", filter=Q(kind=LedgerKind.DEBIT_USAGE)),
    )
    return {row["period_id"]: row for row in rows}


def ledger_violations() -> Iterator[Violation]:
    """Every broken invariant, one Violation each, naming the card's ICCID."""
    iccids = dict(Card.objects.values_list("pk", "iccid"))
    sums = _period_sums()

    periods = Period.objects.values_list("pk", "public_id", "card_id", "unlimited", "total_bytes",
                                         "remaining_bytes", "used_bytes")
    for pk, public_id, card_id, unlimited, total, remaining, used in periods.iterator():
        iccid = iccids.get(card_id, f"#{card_id}")
        label = f"period {public_id}"
        row = sums.get(pk)
        if row is None:
            yield Violation(iccid, f"{label} has no ledger rows (not even its purchase)")
            continue
        usage = -(row["usage"] or 0)
        if used != usage:
            yield Violation(iccid, f"{label}: used_bytes {used} but usage debits sum to {usage}")
        if unlimited:
            continue
        if remaining is None or remaining < 0:
            yield Violation(iccid, f"{label}: remaining {remaining} is below zero")
        if (row["total"] or 0) != remaining:
            yield Violation(iccid, f"{label}: credits − debits = {row['total'] or 0} "
                                   f"but remaining is {remaining}")
        if (row["credits"] or 0) != total:
            yield Violation(iccid, f"{label}: total {total} but credits sum to "
                                   f"{row['credits'] or 0}")

    # balance_after chains, per period and (for overage) per card.
    expected: dict[tuple, int] = defaultdict(int)
    overage_sum: dict[int, int] = defaultdict(int)
    entries = LedgerEntry.objects.order_by("id").values_list(
        "id", "card_id", "period_id", "period__card_id", "period__unlimited", "kind", "bytes",
        "balance_after")
    for pk, card_id, period_id, period_card, unlimited, kind, amount, balance in \
            entries.iterator(chunk_size=5000):
        iccid = iccids.get(card_id, f"#{card_id}")
        # The ledger's keys have no database constraint (see LedgerEntry): checked here.
        if card_id not in iccids:
            yield Violation(iccid, f"ledger row {pk} names a card that does not exist")
        if period_id is not None and period_card is None:
            yield Violation(iccid, f"ledger row {pk} names a period that does not exist")
        elif period_id is not None and period_card != card_id:
            yield Violation(iccid, f"ledger row {pk} names another card than its period")
        if period_id is None and kind != LedgerKind.OVERAGE:
            yield Violation(iccid, f"ledger row {pk} ({kind}) has no period")
        if period_id is None:
            overage_sum[card_id] += -amount
        if period_id is not None and unlimited:
            if balance is not None:
                yield Violation(iccid, f"ledger row {pk} of an unlimited period has a balance")
            continue
        key = (card_id, period_id)
        expected[key] += amount
        if balance != expected[key]:
            yield Violation(iccid, f"ledger row {pk}: balance_after {balance} but the rows "
                                   f"before it give {expected[key]}")
            expected[key] = balance if balance is not None else expected[key]
        if period_id is not None and balance is not None and balance < 0:
            yield Violation(iccid, f"ledger row {pk}: balance went below zero ({balance})")

    for card_id, overage in Card.objects.values_list("pk", "overage_bytes"):
        if overage != overage_sum.get(card_id, 0):
            yield Violation(iccids[card_id], f"overage {overage} but overage rows sum to "
                                             f"{overage_sum.get(card_id, 0)}")

    # Each cause once: rows of one reference are numbered 0..n-1 on one card.
    causes = (LedgerEntry.objects.values("reference")
              .annotate(n=Count("id"), first=Min("seq"), last=Max("seq"),
                        cards=Count("card_id", distinct=True), card=Min("card_id"))
              .filter(Q(first__gt=0) | Q(cards__gt=1) | ~Q(last=F("n") - 1)))
    for cause in causes:
        yield Violation(iccids.get(cause["card"], "?"),
                        f"reference {cause['reference']} is applied more than once or "
                        f"its rows are out of order")

