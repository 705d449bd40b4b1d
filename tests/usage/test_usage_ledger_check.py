"""The usage side of the ledger check: per card, the bytes of its rated records equal
the usage its ledger rows took, and every rating row names a run that exists."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import LedgerEntry, LedgerKind
from simdesk.cards.services import period_create
from simdesk.usage.ledger_check import usage_violations
from simdesk.usage.models import RatingRun, Record
from simdesk.usage.services import usage_rate, usage_store

from .conftest import MB, rec

pytestmark = pytest.mark.django_db


@pytest.fixture
def rated(make_card, make_plan, alice, now):
    """Three cards rated every way: ``plain`` took its usage set-based, ``used_up`` ran out
    of its period and into its queued one (record by record), ``empty`` had nothing
    (overage)."""
    plain, used_up, empty = (make_card(owner=alice) for _ in range(3))
    period_create(card=plain, plan=make_plan(data_bytes=500 * MB), source="p", now=now)
    period_create(card=used_up, plan=make_plan(data_bytes=100 * MB), source="u1", now=now)
    period_create(card=used_up, plan=make_plan(data_bytes=100 * MB), source="u2", now=now)
    records = [rec(f"{name}{n}", card, 30, now + timedelta(minutes=7 * n))
               for name, card in (("p", plain), ("u", used_up), ("e", empty)) for n in range(5)]
    usage_rate(records, source="gw1", now=now + timedelta(hours=1))
    return plain, used_up, empty


def violations() -> list[str]:
    return [str(v) for v in usage_violations()]


def test_it_passes_after_rating(rated):
    assert violations() == []
    assert list(ledger_violations()) == []


def test_records_stored_but_not_yet_rated_are_not_owed_anything(rated, now):
    plain, _used_up, _empty = rated
    usage_store([rec("waiting", plain, 7, now)], source="gw1")

    assert violations() == []


@pytest.mark.parametrize("which", [0, 1, 2])
def test_a_record_whose_bytes_were_changed_behind_the_services_names_its_card(rated, which):
    card = rated[which]
    record = Record.objects.filter(card_id=card.pk).first()
    Record.objects.filter(pk=record.pk).update(bytes=record.bytes + 1)

    assert violations() == [
        f"card {card.iccid}: rated usage records carry {150 * MB + 1} bytes but their usage "
        f"rows debit {150 * MB}"]


def test_a_rating_row_whose_bytes_were_changed_names_its_card(rated):
    plain, _used_up, _empty = rated
    row = plain.ledger.filter(kind=LedgerKind.DEBIT_USAGE, reference__startswith="rating:").first()
    LedgerEntry.objects.filter(pk=row.pk).update(bytes=row.bytes - MB)

    assert violations() == [
        f"card {plain.iccid}: rated usage records carry {150 * MB} bytes but their usage "
        f"rows debit {151 * MB}"]


def test_a_rating_row_naming_a_run_that_does_not_exist_is_reported(rated):
    _plain, _used_up, empty = rated
    row = empty.ledger.filter(kind=LedgerKind.OVERAGE).first()
    forged = f"rating:{RatingRun.objects.latest('pk').pk + 1}:{empty.pk}"
    LedgerEntry.objects.filter(pk=row.pk).update(reference=forged)

    assert violations() == [f"card {empty.iccid}: ledger row {forged} names no rating run "
                            "of this card"]


def test_a_rating_row_naming_another_card_is_reported(rated):
    plain, used_up, _empty = rated
    row = plain.ledger.filter(reference__startswith="rating:").first()
    forged = f"rating:{RatingRun.objects.latest('pk').pk}:{used_up.pk}:9"
    LedgerEntry.objects.filter(pk=row.pk).update(reference=forged)

    assert f"card {plain.iccid}: ledger row {forged} names no rating run of this card" in (
        violations())


def test_check_ledger_passes_and_says_how_many_records_wait(rated, now, capsys):
    plain, _used_up, _empty = rated
    usage_store([rec("waiting", plain, 7, now)], source="gw1")
    call_command("check-ledger")

    out = capsys.readouterr().out
    assert "16 usage records checked (1 records still waiting to be rated)" in out
    assert "the ledger is consistent" in out


def test_check_ledger_fails_naming_the_card_whose_records_and_rows_disagree(rated, capsys):
    plain, _used_up, _empty = rated
    Record.objects.filter(card_id=plain.pk).update(bytes=0)
    with pytest.raises(SystemExit) as exit_info:
        call_command("check-ledger")

    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert f"VIOLATION card {plain.iccid}: rated usage records carry 0 bytes" in out
    assert "1 violations." in out
