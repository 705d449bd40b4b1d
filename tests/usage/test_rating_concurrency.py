"""Two callers rating overlapping batches at the same moment (PostgreSQL): every record
counts once, nothing is lost, and they never deadlock."""

import logging
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
    assert usage.filter(seq=0).count() == len(records)  # each record's claim
    assert -usage.aggregate(total=Sum("bytes"))["total"] == sum(r.bytes for r in records)
    for card in Card.objects.all():
        mine = sum(r.bytes for r in records if r.card_id == card.pk)
        used = sum(card.periods.values_list("used_bytes", flat=True))
        assert used + card.overage_bytes == mine
    assert {c for r in results for c in r.exhausted_card_ids} == {cards[0].pk, cards[1].pk}
    assert list(ledger_violations()) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_record_sent_under_two_cards_at_once_counts_once(make_card, make_plan, alice,
                                                             now, monkeypatch, caplog):
    # The card locks do not keep the two callers apart (each locks its own card); the
    # ledger's unique key on the record's first row does.
    from simdesk.usage import rating

    plan = make_plan(data_bytes=200 * MB)
    cards = [make_card(owner=alice) for _ in range(2)]
    for n, card in enumerate(cards):
        period_create(card=card, plan=plan, source=f"o{n}", now=now)
    at = now + timedelta(hours=1)
    both_checked = threading.Barrier(2, timeout=30)
    drop_seen = rating._drop_seen

    def drop_seen_then_wait(cursor, **kwargs):
        duplicates = drop_seen(cursor, **kwargs)
        both_checked.wait()  # both found no row for "x": both go on to write it
        return duplicates

    monkeypatch.setattr(rating, "_drop_seen", drop_seen_then_wait)
    caplog.set_level(logging.INFO, logger="simdesk.usage.rating")
    results, errors = [], []

    def caller(card):
        try:
            results.append(usage_rate([UsageRecord(
                record_id="x", card_id=card.pk, bytes_up=MB, bytes_down=4 * MB,
                started_at=at - timedelta(minutes=1), ended_at=at)], source="gw", now=at))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=caller, args=(card,)) for card in cards]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert "rated concurrently" in caplog.text  # the second one collided on the key
    assert sorted((r.applied, r.duplicates) for r in results) == [(0, 1), (1, 0)]
    assert LedgerEntry.objects.filter(reference="usage:gw:x").count() == 1
    used = [sum(card.periods.values_list("used_bytes", flat=True)) for card in cards]
    assert sorted(used) == [0, 5 * MB]
    assert list(ledger_violations()) == []
