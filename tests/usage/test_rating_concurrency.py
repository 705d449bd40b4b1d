"""Two callers rating overlapping batches at the same moment (PostgreSQL): every record
counts once, nothing is lost, and they never deadlock."""

import random
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Sum

from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import Card, LedgerEntry, LedgerKind
from simdesk.cards.services import period_create
from simdesk.usage.models import RatedRecord
from simdesk.usage.services import UsageRecord, usage_rate

MB = 1_000_000


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_callers_with_overlapping_batches_count_each_record_once(make_card, make_plan,
                                                                     alice, now):
    # 30 cards with 200 MB each; two cards only 25 MB, so they run out on the way.
    plan, small = make_plan(data_bytes=200 * MB), make_plan(data_bytes=25 * MB)
    cards = [make_card(owner=alice) for _ in range(30)]
    for n, card in enumerate(cards):
        period_create(card=card, plan=small if n < 2 else plan, source=f"o{n}", now=now)
    at = now + timedelta(hours=1)
    rng = random.Random(3)
    records = [UsageRecord(record_id=f"r{n}", card_id=cards[rng.randrange(30)].pk,
                           bytes_up=MB, bytes_down=rng.randrange(0, 3) * MB,
                           started_at=at - timedelta(minutes=1), ended_at=at + timedelta(
                               seconds=n)) for n in range(600)]
    # Each caller sends every record (a retry racing the original) in its own order,
    # in batches of 50, so their transactions interleave on the same cards.
    orders = [records[:], records[::-1]]
    rng.shuffle(orders[0])
    start = threading.Barrier(2)
    results, errors = [], []

    def caller(order):
        try:
            start.wait()
            for i in range(0, len(order), 50):
                results.append(usage_rate(order[i:i + 50], source="gw", now=at + timedelta(
                    minutes=30)))
        except Exception as error:  # surfaced below; a thread cannot fail the test itself
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=caller, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in threads), "the callers deadlocked"
    assert errors == []
    assert sum(r.applied for r in results) == 600
    assert sum(r.duplicates for r in results) == 600
    assert RatedRecord.objects.count() == 600
    usage = LedgerEntry.objects.filter(kind__in=(LedgerKind.DEBIT_USAGE, LedgerKind.OVERAGE))
    assert usage.filter(seq=0).count() == sum(1 for r in records if r.bytes)
    assert -usage.aggregate(total=Sum("bytes"))["total"] == sum(r.bytes for r in records)
    for card in Card.objects.all():
        mine = sum(r.bytes for r in records if r.card_id == card.pk)
        used = sum(card.periods.values_list("used_bytes", flat=True))
        assert used + card.overage_bytes == mine
    assert {c for r in results for c in r.exhausted_card_ids} == {cards[0].pk, cards[1].pk}
    assert list(ledger_violations()) == []
