"""Writing ledger rows: the only way a period's balance or a card's overage changes."""

from datetime import datetime

from simdesk.core.errors import Conflict

from ..models import LEDGER_CREDIT_KINDS, Card, LedgerEntry, LedgerKind, Period


def card_lock(card: Card) -> Card:
    """The card row again, locked until the transaction ends (call inside ``atomic``).

    Every balance change of a card happens under this lock, so concurrent workers
    applying usage, purchases or expiry to one card queue one behind the other.
    """
    return Card.objects.select_for_update().get(pk=card.pk)


def ledger_apply(*, card: Card, period: Period | None, kind: str, amount: int, reference: str,
                 seq: int = 0, at: datetime, now: datetime, note: str = "") -> LedgerEntry:
    """Apply ``amount`` (credit +, debit −) to ``period`` (or, without one, to the card's
    overage) and append the ledger row that records it, saving the balance fields.

    The (reference, seq) uniqueness makes a second application of the same cause
    fail with IntegrityError rather than count twice.
    """
    if period is None:
        if kind != LedgerKind.OVERAGE or amount > 0:
            raise Conflict("Only overage is recorded without a period.")
        card.overage_bytes += -amount
        card.save(update_fields=["overage_bytes", "updated_at"])
        balance = -card.overage_bytes
    else:
        if kind in LEDGER_CREDIT_KINDS and not period.unlimited:
            period.total_bytes += amount
        if kind == LedgerKind.DEBIT_USAGE:
            period.used_bytes += -amount
        if period.unlimited:
            balance = None
        else:
            period.remaining_bytes += amount
            if period.remaining_bytes < 0:
                raise Conflict("A period balance cannot go below zero.")
            balance = period.remaining_bytes
        period.save(update_fields=["total_bytes", "remaining_bytes", "used_bytes", "updated_at"])
    return LedgerEntry.objects.create(
        card=card, period=period, kind=kind, bytes=amount, balance_after=balance,
        reference=reference, seq=seq, at=at, created_at=now, note=note[:200],
    )
