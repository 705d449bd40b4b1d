"""Storing and rating: records are kept first, then rated in runs, each exactly once.

``usage_store`` keeps records and applies nothing; ``usage_rate_pending`` rates what
waits, in id order, in runs of at most ``rating.CHUNK`` records with the cursor moved
in the same commit; ``usage_rate`` does both. A plain card's usage of a run is one
ledger row per quarter hour of usage time.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction

from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import LedgerKind
from simdesk.cards.selectors import card_usage_by_day
from simdesk.usage.ledger_check import usage_violations
from simdesk.usage.models import RatingRun, Record, from_microseconds, to_microseconds
from simdesk.usage.services import usage_rate, usage_rate_pending, usage_store

from .conftest import MB, rated_through, rec

pytestmark = pytest.mark.django_db


def consistent() -> bool:
    return list(ledger_violations()) == [] and list(usage_violations()) == []


def balance(period) -> tuple[int, int]:
    period.refresh_from_db()
    return period.remaining_bytes, period.used_bytes


def runs() -> list[tuple[int, int, int]]:
    return list(RatingRun.objects.order_by("pk").values_list("after", "through", "records"))


def test_usage_store_keeps_the_records_and_applies_nothing(card_with_500mb, now):
    card, period = card_with_500mb
    result = usage_store([rec("a", card, 100, now), rec("b", card, 50, now)], source="gw1")

    assert (result.applied, result.duplicates, result.rejected) == (2, 0, [])
    assert list(Record.objects.values_list("record_id", "bytes")) == [
        ("a", 100 * MB), ("b", 50 * MB)]
    assert balance(period) == (500 * MB, 0)
    card.refresh_from_db()
    assert card.usage_updated_at is None
    assert rated_through() == 0
    assert runs() == []
    assert not card.ledger.filter(kind=LedgerKind.DEBIT_USAGE).exists()
    assert consistent()  # waiting records are not rated ones


def test_usage_store_counts_a_record_stored_before_as_a_duplicate(card_with_500mb, now):
    card, _period = card_with_500mb
    usage_store([rec("a", card, 100, now)], source="gw1")
    result = usage_store([rec("a", card, 100, now), rec("b", card, 1, now)], source="gw1")

    assert (result.applied, result.duplicates) == (1, 1)
    assert Record.objects.count() == 2


def test_usage_rate_pending_applies_the_waiting_records_once(card_with_500mb, now):
    card, period = card_with_500mb
    usage_store([rec("a", card, 100, now), rec("b", card, 50, now)], source="gw1")
    first = usage_rate_pending(now=now)

    assert first.applied == 2
    assert balance(period) == (350 * MB, 150 * MB)
    assert rated_through() == Record.objects.latest("pk").pk
    again = usage_rate_pending(now=now)

    assert again.applied == 0
    assert balance(period) == (350 * MB, 150 * MB)
    assert len(runs()) == 1
    assert consistent()


@pytest.mark.parametrize("next_writer", ["usage_rate", "usage_rate_pending"])
def test_records_stored_but_never_rated_are_made_good_by_the_next_rating_and_counted_once(
        next_writer, card_with_500mb, now):
    """A process that stopped between storing and rating leaves its records waiting:
    whoever rates next applies them, and the sender's retry is a duplicate."""
    card, period = card_with_500mb
    usage_store([rec("a", card, 100, now), rec("b", card, 50, now)], source="gw1")  # "crash"
    if next_writer == "usage_rate":
        result = usage_rate([rec("a", card, 100, now), rec("c", card, 10, now)], source="gw1",
                            now=now)
        assert (result.applied, result.duplicates) == (1, 1)
    else:
        assert usage_rate_pending(now=now).applied == 2
        result = usage_rate([rec("a", card, 100, now), rec("b", card, 50, now)],
                            source="gw1", now=now)
        assert (result.applied, result.duplicates) == (0, 2)
    usage_rate_pending(now=now)

    used = 160 if next_writer == "usage_rate" else 150
    assert balance(period) == ((500 - used) * MB, used * MB)
    assert rated_through() == Record.objects.latest("pk").pk
    assert consistent()


def test_usage_rate_applies_what_waited_before_its_own_records(card_with_500mb, make_card, now):
    card, period = card_with_500mb
    other = make_card()
    usage_store([rec("a", card, 100, now)], source="import")
    usage_rate([rec("x", other, 1, now)], source="radius", now=now)

    assert balance(period) == (400 * MB, 100 * MB)
    assert rated_through() == Record.objects.latest("pk").pk


def test_records_are_rated_in_id_order_in_runs_of_chunk(card_with_500mb, now, chunk):
    card, period = card_with_500mb
    chunk(3)
    usage_store([rec(f"r{n}", card, 10, now) for n in range(8)], source="gw1")
    ids = list(Record.objects.order_by("pk").values_list("pk", flat=True))
    before = rated_through()
    result = usage_rate_pending(now=now)

    assert result.applied == 8
    assert runs() == [(before, ids[2], 3), (ids[2], ids[5], 3), (ids[5], ids[7], 2)]
    assert rated_through() == ids[7]
    assert balance(period) == (420 * MB, 80 * MB)
    # Each run's usage is its own ledger row, in the order of the runs.
    rows = card.ledger.filter(kind=LedgerKind.DEBIT_USAGE).order_by("pk")
    assert [(r.reference, r.bytes, r.balance_after) for r in rows] == [
        (f"rating:{run}:{card.pk}", -used * MB, left * MB) for run, used, left in zip(
            RatingRun.objects.order_by("pk").values_list("pk", flat=True), (30, 30, 20),
            (470, 440, 420), strict=True)]
    assert consistent()


def test_full_runs_only_rates_only_full_runs_and_leaves_the_rest_waiting(card_with_500mb, now,
                                                                          chunk):
    card, period = card_with_500mb
    chunk(3)
    usage_store([rec(f"r{n}", card, 10, now) for n in range(8)], source="gw1")
    ids = list(Record.objects.order_by("pk").values_list("pk", flat=True))

    assert usage_rate_pending(now=now, full_runs_only=True).applied == 6
    assert rated_through() == ids[5]
    assert balance(period) == (440 * MB, 60 * MB)
    assert usage_rate_pending(now=now, full_runs_only=True).applied == 0
    assert usage_rate_pending(now=now).applied == 2
    assert rated_through() == ids[7]
    assert balance(period) == (420 * MB, 80 * MB)
    assert consistent()


# --- the ledger's shape ------------------------------------------------------------------

def test_a_plain_cards_records_within_one_quarter_hour_make_one_ledger_row(card_with_500mb,
                                                                           now):
    card, _period = card_with_500mb
    start = now + timedelta(hours=1)  # 13:00, a quarter hour begins
    records = [rec(f"r{n}", card, 10 + n, start + timedelta(minutes=n * 3)) for n in range(5)]
    usage_rate(records[::-1], source="gw1", now=start + timedelta(hours=1))

    run = RatingRun.objects.get()
    row = card.ledger.get(kind=LedgerKind.DEBIT_USAGE)
    assert (row.reference, row.seq, row.bytes, row.balance_after, row.at) == (
        f"rating:{run.pk}:{card.pk}", 0, -60 * MB, 440 * MB, start + timedelta(minutes=12))
    assert consistent()


def test_records_either_side_of_a_quarter_hour_make_two_rows_in_time_order(card_with_500mb,
                                                                           now):
    card, period = card_with_500mb
    boundary = now + timedelta(hours=1, minutes=15)
    records = [rec("late", card, 40, boundary + timedelta(minutes=2)),
               rec("early", card, 10, boundary - timedelta(seconds=1)),
               rec("on", card, 20, boundary)]  # the first moment of the next quarter hour
    usage_rate(records, source="gw1", now=boundary + timedelta(hours=1))

    run = RatingRun.objects.get()
    rows = card.ledger.filter(kind=LedgerKind.DEBIT_USAGE).order_by("seq")
    assert [(r.reference, r.seq, r.bytes, r.balance_after, r.at) for r in rows] == [
        (f"rating:{run.pk}:{card.pk}", 0, -10 * MB, 490 * MB, boundary - timedelta(seconds=1)),
        (f"rating:{run.pk}:{card.pk}", 1, -60 * MB, 430 * MB, boundary + timedelta(minutes=2)),
    ]
    assert balance(period) == (430 * MB, 70 * MB)
    assert consistent()


def test_daily_usage_in_a_quarter_hour_time_zone_falls_either_side_of_local_midnight(
        card_with_500mb):
    card, _period = card_with_500mb
    kathmandu = ZoneInfo("Asia/Kathmandu")  # UTC+05:45: midnight is 18:15 UTC
    midnight = datetime(2026, 6, 2, tzinfo=kathmandu)
    assert midnight.astimezone(UTC) == datetime(2026, 6, 1, 18, 15, tzinfo=UTC)
    records = [rec("a", card, 10, midnight - timedelta(minutes=10)),
               rec("b", card, 20, midnight - timedelta(microseconds=1)),
               rec("c", card, 40, midnight),
               rec("d", card, 80, midnight + timedelta(minutes=14))]
    now = midnight + timedelta(minutes=30)
    usage_rate(records, source="gw1", now=now)

    assert card_usage_by_day(card=card, now=now, tz=kathmandu, days=3) == [
        (date(2026, 5, 31), 0), (date(2026, 6, 1), 30 * MB), (date(2026, 6, 2), 120 * MB)]
    # In UTC it is all one day.
    assert card_usage_by_day(card=card, now=now, tz=UTC, days=1) == [
        (date(2026, 6, 1), 150 * MB)]


def test_a_batch_sent_again_after_it_was_stored_but_never_rated_is_applied_by_the_retry(
        card_with_500mb, now):
    card, period = card_with_500mb
    usage_store([rec("a", card, 100, now)], source="gw1")  # the first caller stopped here
    result = usage_rate([rec("a", card, 100, now)], source="gw1", now=now)

    assert (result.applied, result.duplicates) == (0, 1)
    assert balance(period) == (400 * MB, 100 * MB)
    assert rated_through() == Record.objects.get().pk


def test_a_store_that_rolled_back_leaves_no_record_and_the_next_ids_follow_the_last_record(
        card_with_500mb, now):
    card, period = card_with_500mb
    usage_rate([rec("a", card, 10, now)], source="gw1", now=now)
    with pytest.raises(RuntimeError), transaction.atomic():
        usage_store([rec("b", card, 10, now)], source="gw1")
        raise RuntimeError("the caller failed after storing")
    usage_rate([rec("c", card, 10, now)], source="gw1", now=now)

    ids = dict(Record.objects.values_list("record_id", "pk"))
    assert sorted(ids) == ["a", "c"]
    assert ids["c"] > ids["a"] and rated_through() == ids["c"]
    assert balance(period) == (480 * MB, 20 * MB)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's table definition")
def test_on_sqlite_a_record_id_is_the_rowid_without_autoincrement():
    # AUTOINCREMENT would rewrite sqlite_sequence for every record stored; records are
    # never deleted, so plain rowids give the same ids.
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s",
                       [Record._meta.db_table])
        table = cursor.fetchone()[0]
    assert '"id" integer NOT NULL PRIMARY KEY,' in table
    assert "AUTOINCREMENT" not in table


def test_a_records_time_is_kept_to_the_microsecond_whatever_its_time_zone():
    kathmandu = ZoneInfo("Asia/Kathmandu")  # +05:45
    at = datetime(2026, 6, 1, 17, 44, 59, 999_999, tzinfo=kathmandu)
    us = to_microseconds(at)

    assert us == to_microseconds(datetime(2026, 6, 1, 11, 59, 59, 999_999, tzinfo=UTC))
    assert us % 1_000_000 == 999_999
    assert from_microseconds(us) == at
    assert to_microseconds(datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)) == 1
