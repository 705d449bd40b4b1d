"""Two workers debiting one card at the same moment: the row lock makes them queue."""

import threading

import pytest
from django.db import connection

from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import LedgerEntry, LedgerKind
from simdesk.cards.services import card_debit_usage, period_create

from .conftest import MB


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_counts_nothing_twice_and_loses_nothing_when_two_workers_debit_one_card(
        card, make_plan, now):
    period = period_create(card=card, plan=make_plan(data_bytes=500 * MB), source="a", now=now)
    # 2 workers × 40 records of 10 MB; every record is sent by both workers
    # (a retransmission), and 800 MB of distinct usage exceeds the 500 MB balance.
    references = [f"usage:test:{n}" for n in range(80)]
    start = threading.Barrier(2)
    errors = []

    def worker(order):
        try:
            start.wait()
            for reference in order:
                card_debit_usage(card=card, bytes=10 * MB, reference=reference, at=now, now=now)
        except Exception as error:  # surfaced below; a thread cannot fail the test itself
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(references,)),
               threading.Thread(target=worker, args=(list(reversed(references)),))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    period.refresh_from_db()
    card.refresh_from_db()
    assert period.remaining_bytes == 0 and period.used_bytes == 500 * MB
    assert card.overage_bytes == 300 * MB
    usage_rows = LedgerEntry.objects.filter(kind__in=(LedgerKind.DEBIT_USAGE,
                                                      LedgerKind.OVERAGE))
    assert sum(-row.bytes for row in usage_rows) == 80 * 10 * MB
    assert list(ledger_violations()) == []
