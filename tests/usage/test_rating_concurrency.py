"""Callers rating usage at the same moment (PostgreSQL): every record counts once,
nothing is lost, they never deadlock, and they share rating runs."""

import random
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Sum

from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import Card, LedgerEntry, LedgerKind
from simdesk.cards.services import period_create
from simdesk.usage import rating
from simdesk.usage.ledger_check import usage_violations
from simdesk.usage.models import RatingRun, Record
from simdesk.usage.services import UsageRecord, usage_rate, usage_store

from .conftest import MB, rated_through

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_in_threads(*callers, timeout=120):
    """Run each caller (a function, or a thread name and a function) in a thread of its
    own, with its own connection; returns the errors they raised (a thread cannot fail
    the test itself) and whether any hung."""
    errors = []

    def wrap(caller):
        try:
            caller()
        except Exception as error:  # surfaced by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrap, args=(caller[1],), name=caller[0])
               if isinstance(caller, tuple) else threading.Thread(target=wrap, args=(caller,))
               for caller in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return errors, any(thread.is_alive() for thread in threads)


def test_callers_with_overlapping_batches_on_the_same_and_other_cards_count_each_record_once(
        make_card, make_plan, alice, now):
    # 30 cards with 200 MB each, two of them only 25 MB, so they run out on the way;
    # 10 more cards only the third caller sends usage for.
    plan, small = make_plan(data_bytes=200 * MB), make_plan(data_bytes=25 * MB)
    cards = [make_card(owner=alice) for _ in range(40)]
    for n, card in enumerate(cards):
        period_create(card=card, plan=small if n < 2 else plan, source=f"o{n}", now=now)
    at = now + timedelta(hours=1)
    rng = random.Random(3)

    def record(n, card):
        return UsageRecord(record_id=f"r{n}", card_id=card.pk, bytes_up=MB,
                           bytes_down=rng.randrange(0, 3) * MB,
                           started_at=at - timedelta(minutes=1),
                           ended_at=at + timedelta(seconds=n))

    shared = [record(n, cards[rng.randrange(30)]) for n in range(600)]
    own = [record(n, cards[30 + n % 10]) for n in range(200)]
    # The first two send every shared record (a retry racing the original) in their own
    # order, in batches of 50, so their transactions interleave on the same cards.
    orders = [shared[:], shared[::-1]]
    rng.shuffle(orders[0])
    start = threading.Barrier(3)
    results = []

    def caller(order, source):
        def send():
            start.wait(timeout=30)
            for i in range(0, len(order), 50):
                results.append(usage_rate(order[i:i + 50], source=source,
                                          now=at + timedelta(minutes=30)))
        return send

    errors, hung = run_in_threads(caller(orders[0], "gw"), caller(orders[1], "gw"),
                                  caller(own, "other"))

    assert not hung, "the callers deadlocked"
    assert errors == []
    assert sum(r.applied for r in results) == 800
    assert sum(r.duplicates for r in results) == 600
    assert Record.objects.count() == 800
    assert rated_through() == Record.objects.latest("pk").pk
    records = shared + own
    usage = LedgerEntry.objects.filter(kind__in=(LedgerKind.DEBIT_USAGE, LedgerKind.OVERAGE))
    assert -usage.aggregate(total=Sum("bytes"))["total"] == sum(r.bytes for r in records)
    for card in Card.objects.all():
        mine = sum(r.bytes for r in records if r.card_id == card.pk)
        used = sum(card.periods.values_list("used_bytes", flat=True))
        assert used + card.overage_bytes == mine
    assert {c for r in results for c in r.exhausted_card_ids} == {cards[0].pk, cards[1].pk}
    assert list(ledger_violations()) == []
    assert list(usage_violations()) == []


def test_one_record_sent_under_two_cards_at_once_counts_once(make_card, make_plan, alice, now):
    plan = make_plan(data_bytes=200 * MB)
    cards = [make_card(owner=alice) for _ in range(2)]
    for n, card in enumerate(cards):
        period_create(card=card, plan=plan, source=f"o{n}", now=now)
    at = now + timedelta(hours=1)
    start = threading.Barrier(2)
    results = []

    def caller(card):
        def send():
            start.wait(timeout=30)
            results.append(usage_rate([UsageRecord(
                record_id="x", card_id=card.pk, bytes_up=MB, bytes_down=4 * MB,
                started_at=at - timedelta(minutes=1), ended_at=at)], source="gw", now=at))
        return send

    errors, hung = run_in_threads(*(caller(card) for card in cards), timeout=60)

    assert not hung and errors == []
    assert sorted((r.applied, r.duplicates) for r in results) == [(0, 1), (1, 0)]
    assert Record.objects.count() == 1
    used = [sum(card.periods.values_list("used_bytes", flat=True)) for card in cards]
    assert sorted(used) == [0, 5 * MB]
    assert list(ledger_violations()) == []
    assert list(usage_violations()) == []


def test_a_caller_whose_records_another_callers_run_rated_returns_without_a_run_of_its_own(
        make_card, make_plan, alice, now, monkeypatch):
    plan = make_plan(data_bytes=200 * MB)
    first, second = (make_card(owner=alice) for _ in range(2))
    for n, card in enumerate((first, second)):
        period_create(card=card, plan=plan, source=f"o{n}", now=now)
    at = now + timedelta(hours=1)

    def records(card, *record_ids):
        return [UsageRecord(record_id=r, card_id=card.pk, bytes_up=MB, bytes_down=MB,
                            started_at=at - timedelta(minutes=1), ended_at=at)
                for r in record_ids]

    stored, rated = threading.Event(), threading.Event()
    rate_pending = rating.rate_pending

    def rate_pending_in_turn(**kwargs):
        if threading.current_thread().name == "first":
            stored.set()  # its records are stored; it rates once the second caller is done
            assert rated.wait(timeout=30)
        return rate_pending(**kwargs)

    monkeypatch.setattr(rating, "rate_pending", rate_pending_in_turn)
    results = {}

    def send_first():
        results["first"] = usage_rate(records(first, "a", "b"), source="gw", now=at)

    def send_second():
        assert stored.wait(timeout=30)
        try:
            # Its run rates everything stored before its own record, the first's too;
            # then a third sender stores a record and has not rated it yet.
            results["second"] = usage_rate(records(second, "c"), source="gw", now=at)
            usage_store(records(second, "d"), source="gw")
        finally:
            rated.set()

    errors, hung = run_in_threads(("first", send_first), ("second", send_second), timeout=60)

    assert not hung and errors == []
    assert results["first"].applied == 2 and results["second"].applied == 1
    # One run, the second caller's, rated the first three; the first caller found its
    # records rated and left the record that waits after them to whoever rates next.
    run = RatingRun.objects.get()
    assert run.records == 3
    assert rated_through() == run.through == Record.objects.latest("pk").pk - 1
    for card, used in ((first, 4 * MB), (second, 2 * MB)):
        assert sum(card.periods.values_list("used_bytes", flat=True)) == used
    assert list(usage_violations()) == []
