from datetime import timedelta

import pytest
from django.core.management import call_command

from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import Card, LedgerEntry, LedgerKind, Period
from simdesk.cards.services import card_debit_usage, period_create, periods_advance
from simdesk.catalog.models import Stacking

from .conftest import GB, MB

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_card(card, make_plan, now):
    """alice's card went through purchases, an extension, usage, overage and expiry."""
    period_create(card=card, plan=make_plan(data_bytes=GB, days=1), source="a", now=now)
    period_create(card=card, plan=make_plan(data_bytes=GB, days=5), source="b", now=now)
    period_create(card=card, plan=make_plan(data_bytes=None, fair_use_bytes=GB,
                                            throttle_kbps=256, stacking=Stacking.PARALLEL,
                                            days=2), source="c", now=now)
    for n in range(5):
        at = now + timedelta(hours=n * 12)
        card_debit_usage(card=card, bytes=150 * MB, reference=f"u{n}", at=at, now=at)
    periods_advance(card=card, now=now + timedelta(days=10))
    card_debit_usage(card=card, bytes=7 * MB, reference="late", at=now + timedelta(days=10),
                     now=now + timedelta(days=10))
    return card


def test_it_passes_on_a_ledger_written_by_the_services(busy_card, capsys):
    assert list(ledger_violations()) == []
    call_command("check-ledger")
    assert "the ledger is consistent" in capsys.readouterr().out


def test_it_fails_naming_the_card_when_a_row_was_changed_behind_the_guard(busy_card, capsys):
    row = LedgerEntry.objects.filter(kind=LedgerKind.DEBIT_USAGE, period__unlimited=False).first()
    LedgerEntry.objects.filter(pk=row.pk).update(bytes=row.bytes + MB)
    with pytest.raises(SystemExit) as exit_info:
        call_command("check-ledger")
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert f"VIOLATION card {busy_card.iccid}" in out
    assert "credits − debits" in out


def test_it_fails_when_a_balance_was_edited_directly(busy_card):
    period = Period.objects.filter(unlimited=False).first()
    Period.objects.filter(pk=period.pk).update(remaining_bytes=period.remaining_bytes + 1)
    assert any("remaining" in str(v) for v in ledger_violations())


def test_it_fails_when_a_usage_record_was_applied_twice(busy_card, now):
    original = LedgerEntry.objects.get(reference="u0")
    # a forged second application slipped past the services with another seq number
    LedgerEntry.objects.bulk_create([LedgerEntry(
        card=busy_card, period=original.period, kind=original.kind, bytes=original.bytes,
        balance_after=original.balance_after, reference="u0", seq=5, at=now, created_at=now)])
    messages = [str(v) for v in ledger_violations()]
    assert any("u0" in m and "more than once" in m for m in messages)


def test_it_fails_when_the_overage_total_does_not_match(busy_card):
    Card.objects.filter(pk=busy_card.pk).update(overage_bytes=0)
    assert any("overage" in str(v) for v in ledger_violations())


def test_it_fails_on_a_period_without_any_ledger_row(card, make_plan, now):
    period = period_create(card=card, plan=make_plan(), source="a", now=now)
    LedgerEntry.objects.filter(period=period).delete()  # queryset delete bypasses the guard
    Period.objects.filter(pk=period.pk).update(total_bytes=0, remaining_bytes=0)
    assert any("no ledger rows" in str(v) for v in ledger_violations())


def test_it_fails_on_a_row_whose_card_or_period_does_not_exist(busy_card, now):
    # The ledger's keys have no database constraint: check-ledger is what notices.
    period = Period.objects.filter(card=busy_card, unlimited=False).first()
    LedgerEntry.objects.bulk_create([
        LedgerEntry(card_id=busy_card.pk, period_id=period.pk + 10_000, kind=LedgerKind.ADJUSTMENT,
                    bytes=0, balance_after=0, reference="forged:period", at=now, created_at=now),
        LedgerEntry(card_id=busy_card.pk + 10_000, period=None, kind=LedgerKind.OVERAGE,
                    bytes=0, balance_after=0, reference="forged:card", at=now, created_at=now),
    ])
    messages = [str(v) for v in ledger_violations()]
    assert any("names a period that does not exist" in m for m in messages)
    assert any("names a card that does not exist" in m for m in messages)
