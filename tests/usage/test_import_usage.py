"""simdesk import-usage FILE: rating usage records from a CSV file."""

import importlib
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import LedgerEntry, LedgerKind
from simdesk.cards.services import period_create
from simdesk.usage import rating
from simdesk.usage.ledger_check import usage_violations
from simdesk.usage.models import RatingCursor, RatingRun, Record

MB = 1_000_000


@pytest.fixture
def card_with_1gb(make_card, make_plan, alice, now):
    """alice has a card (IMSI 234150000000007) with 1 GB active since ``now``."""
    card = make_card(owner=alice, imsi="234150000000007")
    period = period_create(card=card, plan=make_plan(data_bytes=1000 * MB), source="o", now=now)
    return card, period


@pytest.fixture(autouse=True)
def two_hours_later(now):
    """The command reads the real clock: it runs two hours after ``now``."""
    with time_machine.travel(now + timedelta(hours=2), tick=False):
        yield


def write_csv(tmp_path, card, now, *, rows=None):
    at = (now + timedelta(hours=1)).isoformat()
    start = now.isoformat()
    lines = ["record_id,iccid,imsi,bytes_up,bytes_down,started_at,ended_at"]
    lines += rows if rows is not None else [
        f"r{n},{card.iccid},,{MB},{4 * MB},{start},{at}" for n in range(25)]
    path = tmp_path / "usage.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def rated(source):
    """How many records of ``source`` have been applied to their cards."""
    through = RatingCursor.objects.get(pk=1).through
    return Record.objects.filter(source__name=source, pk__lte=through).count()


def waiting():
    """Records stored but not rated yet."""
    cursor = RatingCursor.objects.filter(pk=1).first()
    return Record.objects.filter(pk__gt=cursor.through if cursor else 0).count()


def debited(card):
    return -sum(LedgerEntry.objects.filter(card=card, kind=LedgerKind.DEBIT_USAGE)
                .values_list("bytes", flat=True))


def run(path, capsys, **options):
    code = 0
    try:
        call_command("import-usage", str(path), **options)
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_it_rates_every_row_and_prints_a_summary(card_with_1gb, now, tmp_path, capsys):
    card, period = card_with_1gb
    code, out, err = run(write_csv(tmp_path, card, now), capsys, source="roaming-hub")

    assert code == 0
    assert "25 records read" in out and "25 applied, 0 duplicates" in out
    assert "25/25 records read, 25 stored, 25 rated" in err  # the progress bar
    period.refresh_from_db()
    assert period.used_bytes == 125 * MB
    assert debited(card) == 125 * MB
    assert rated("roaming-hub") == 25
    assert waiting() == 0
    assert list(ledger_violations()) == []
    assert list(usage_violations()) == []


def test_importing_the_same_file_again_counts_nothing_twice(card_with_1gb, now, tmp_path,
                                                            capsys):
    card, period = card_with_1gb
    path = write_csv(tmp_path, card, now)
    run(path, capsys)
    code, out, _err = run(path, capsys)

    assert code == 0
    assert "0 applied, 25 duplicates" in out
    period.refresh_from_db()
    assert period.used_bytes == 125 * MB
    assert debited(card) == 125 * MB
    assert Record.objects.count() == 25


def test_it_lists_bad_rows_by_line_and_rates_the_others(card_with_1gb, now, tmp_path, capsys):
    card, period = card_with_1gb
    at, start = (now + timedelta(hours=1)).isoformat(), now.isoformat()
    path = write_csv(tmp_path, card, now, rows=[
        f"good,,234150000000007,{MB},{MB},{start},{at}",
        f"lost,,999999999999999,{MB},{MB},{start},{at}",
        f"neg,{card.iccid},,-5,{MB},{start},{at}",
        f"when,{card.iccid},,1,1,yesterday,{at}",
    ])
    code, out, _err = run(path, capsys)

    assert code == 1
    assert "4 records read" in out
    assert "1 applied, 0 duplicates, 1 unknown cards, 2 rejected" in out
    assert "line 3: lost: No card has this IMSI." in out
    assert "line 4: neg: bytes_up must be a whole number" in out
    assert "line 5: when: started_at must be an ISO 8601" in out
    period.refresh_from_db()
    assert period.used_bytes == 2 * MB
    assert list(Record.objects.values_list("record_id", flat=True)) == ["good"]
    assert waiting() == 0


def test_a_file_that_breaks_off_keeps_the_records_before_the_break_rated(
        card_with_1gb, now, tmp_path, capsys, monkeypatch):
    card, period = card_with_1gb
    command = importlib.import_module("simdesk.usage.management.commands.import-usage")
    monkeypatch.setattr(command, "BATCH", 4)
    at, start = (now + timedelta(hours=1)).isoformat(), now.isoformat()
    rows = [f"r{n},{card.iccid},,{MB},{4 * MB},{start},{at}" for n in range(10)]
    rows.append(f'"{"x" * 200_000}",{card.iccid},,1,1,{start},{at}')  # past csv's field limit
    path = write_csv(tmp_path, card, now, rows=rows)

    with pytest.raises(CommandError, match="10 records before it were read, 10 of them stored"):
        call_command("import-usage", str(path))

    period.refresh_from_db()
    assert period.used_bytes == 50 * MB
    assert Record.objects.count() == 10
    assert waiting() == 0


def test_a_file_without_the_needed_columns_is_refused(tmp_path, db):
    path = tmp_path / "usage.csv"
    path.write_text("id,bytes\n1,2\n")
    with pytest.raises(CommandError, match="header must name record_id"):
        call_command("import-usage", str(path))


def test_a_missing_file_is_a_clear_error(tmp_path, db):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import-usage", str(tmp_path / "nope.csv"))


def test_a_file_larger_than_a_rating_run_is_rated_in_full_runs_and_nothing_waits(
        card_with_1gb, now, tmp_path, capsys, monkeypatch):
    """Stored batch by batch, rated only in full runs between batches and the rest at the
    end: 25 records, batches of 4, runs of 10 are three runs (10, 10, 5), not one a batch."""
    card, period = card_with_1gb
    monkeypatch.setattr(rating, "CHUNK", 10)
    command = importlib.import_module("simdesk.usage.management.commands.import-usage")
    monkeypatch.setattr(command, "BATCH", 4)
    code, out, err = run(write_csv(tmp_path, card, now), capsys)

    assert code == 0
    assert "25 records read" in out and "25 applied, 0 duplicates" in out
    assert list(RatingRun.objects.values_list("records", flat=True)) == [10, 10, 5]
    assert "12/25 records read, 12 stored, 10 rated" in err  # a run once 10 were stored
    assert waiting() == 0
    period.refresh_from_db()
    assert period.used_bytes == 125 * MB
    assert debited(card) == 125 * MB
    assert list(ledger_violations()) == []
    assert list(usage_violations()) == []


def test_a_card_that_runs_out_during_the_import_is_counted_in_the_summary(
        make_card, make_plan, alice, now, tmp_path, capsys, monkeypatch):
    card = make_card(owner=alice)
    period_create(card=card, plan=make_plan(data_bytes=100 * MB), source="o", now=now)
    monkeypatch.setattr(rating, "CHUNK", 10)
    command = importlib.import_module("simdesk.usage.management.commands.import-usage")
    monkeypatch.setattr(command, "BATCH", 4)
    code, out, _err = run(write_csv(tmp_path, card, now), capsys)  # 25 × 5 MB

    assert code == 0
    assert "25 applied" in out
    assert "1 cards ran out of data." in out
    card.refresh_from_db()
    assert card.overage_bytes == 25 * MB
