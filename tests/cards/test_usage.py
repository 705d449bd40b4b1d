"""Debiting usage: earliest end first, never below zero, overage, exactly once."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from simdesk.cards.models import CardState, LedgerEntry, LedgerKind, PeriodState
from simdesk.cards.services import card_debit_usage, period_create
from simdesk.catalog.models import Stacking
from simdesk.core.errors import ServiceError

from .conftest import GB, MB

pytestmark = pytest.mark.django_db


def reload(obj):
    obj.refresh_from_db()
    return obj


@pytest.fixture
def two_parallel(card, make_plan, now):
    """alice's card has a 30-day 1 GB period and a 7-day 1 GB parallel top-up."""
    long = period_create(card=card, plan=make_plan(data_bytes=GB, days=30), source="a", now=now)
    short = period_create(card=card, plan=make_plan(data_bytes=GB, days=7,
                                                    stacking=Stacking.PARALLEL),
                          source="b", now=now)
    return long, short


def test_it_debits_the_period_that_ends_first(card, two_parallel, now):
    long, short = two_parallel
    result = card_debit_usage(card=card, bytes=300 * MB, reference="usage:t:1", at=now, now=now)
    assert result.debited == [(short.pk, 300 * MB)]
    assert reload(short).remaining_bytes == 700 * MB
    assert reload(long).remaining_bytes == GB


def test_it_spills_into_the_next_period_when_the_first_runs_out(card, two_parallel, now):
    long, short = two_parallel
    result = card_debit_usage(card=card, bytes=GB + 200 * MB, reference="u1", at=now, now=now)
    assert result.debited == [(short.pk, GB), (long.pk, 200 * MB)]
    assert reload(short).state == PeriodState.EXHAUSTED
    assert [row.seq for row in LedgerEntry.objects.filter(reference="u1")] == [0, 1]


def test_it_records_usage_beyond_every_balance_as_overage(card, make_plan, now):
    period = period_create(card=card, plan=make_plan(data_bytes=100 * MB), source="a", now=now)
    result = card_debit_usage(card=card, bytes=130 * MB, reference="u1", at=now, now=now)
    assert result.overage_bytes == 30 * MB
    assert result.ran_out is True
    assert result.exhausted == [period]
    assert reload(period).remaining_bytes == 0
    card = reload(card)
    assert card.overage_bytes == 30 * MB
    assert card.state == CardState.INACTIVE
    overage = LedgerEntry.objects.get(kind=LedgerKind.OVERAGE)
    assert (overage.period, overage.bytes, overage.balance_after) == (None, -30 * MB, -30 * MB)


def test_it_records_usage_on_a_card_without_any_period_as_overage(card, now):
    result = card_debit_usage(card=card, bytes=5 * MB, reference="u1", at=now, now=now)
    assert (result.overage_bytes, result.debited) == (5 * MB, [])


def test_it_applies_the_same_usage_record_only_once(card, two_parallel, now):
    first = card_debit_usage(card=card, bytes=GB + 5 * MB, reference="usage:radius:42", at=now,
                             now=now)
    again = card_debit_usage(card=card, bytes=GB + 5 * MB, reference="usage:radius:42", at=now,
                             now=now + timedelta(minutes=1))
    assert first.applied is True and again.applied is False
    assert again.debited == first.debited
    assert again.bytes == first.bytes
    long, short = two_parallel
    assert reload(long).remaining_bytes + reload(short).remaining_bytes == GB - 5 * MB
    assert LedgerEntry.objects.filter(reference="usage:radius:42").count() == 2


def test_the_database_refuses_a_second_row_for_the_same_cause(card, make_plan, now):
    period = period_create(card=card, plan=make_plan(), source="a", now=now)
    card_debit_usage(card=card, bytes=MB, reference="u1", at=now, now=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(card=card, period=period, kind=LedgerKind.DEBIT_USAGE,
                                   bytes=-MB, balance_after=0, reference="u1", seq=0, at=now,
                                   created_at=now)


def test_it_takes_late_usage_from_the_period_that_was_running_when_it_happened(
        card, make_plan, now):
    first = period_create(card=card, plan=make_plan(data_bytes=GB, days=1), source="a", now=now)
    second = period_create(card=card, plan=make_plan(data_bytes=GB, days=1), source="b", now=now)
    # usage from 23:00 on the first day arrives three hours after the first period ended
    used_at = now + timedelta(hours=23)
    card_debit_usage(card=card, bytes=100 * MB, reference="u1", at=used_at,
                     now=now + timedelta(days=1, hours=3))
    first, second = reload(first), reload(second)
    assert first.used_bytes == 100 * MB
    assert first.state == PeriodState.EXPIRED
    assert second.state == PeriodState.ACTIVE and second.used_bytes == 0
    assert second.starts_at == first.ends_at


def test_it_records_when_usage_was_last_counted(card, make_plan, now):
    period_create(card=card, plan=make_plan(), source="a", now=now)
    card_debit_usage(card=card, bytes=MB, reference="u2", at=now + timedelta(hours=2),
                     now=now + timedelta(hours=3))
    card_debit_usage(card=card, bytes=MB, reference="u1", at=now + timedelta(hours=1),
                     now=now + timedelta(hours=4))
    assert reload(card).usage_updated_at == now + timedelta(hours=2)


def test_it_counts_unlimited_usage_and_says_when_fair_use_is_reached(card, make_plan, now):
    plan = make_plan(data_bytes=None, fair_use_bytes=GB, throttle_kbps=512)
    period = period_create(card=card, plan=plan, source="a", now=now)
    first = card_debit_usage(card=card, bytes=900 * MB, reference="u1", at=now, now=now)
    second = card_debit_usage(card=card, bytes=200 * MB, reference="u2", at=now, now=now)
    period = reload(period)
    assert first.fair_use_reached == [] and second.fair_use_reached == [period]
    assert (period.used_bytes, period.remaining_bytes, period.state) == (
        1100 * MB, None, PeriodState.ACTIVE)
    assert second.overage_bytes == 0 and second.ran_out is False


def test_it_refuses_negative_usage(card, now):
    with pytest.raises(ServiceError):
        card_debit_usage(card=card, bytes=-1, reference="u1", at=now, now=now)


def test_it_never_lets_a_ledger_row_change_or_disappear(card, make_plan, now):
    period_create(card=card, plan=make_plan(), source="a", now=now)
    row = LedgerEntry.objects.get()
    row.bytes = 1
    with pytest.raises(Exception, match="append-only"):
        row.save()
    with pytest.raises(Exception, match="append-only"):
        row.delete()


def test_zero_bytes_of_usage_moves_the_last_updated_time_and_counts_once(card, make_plan, now):
    period = period_create(card=card, plan=make_plan(), source="a", now=now)
    result = card_debit_usage(card=card, bytes=0, reference="u0", at=now, now=now)
    again = card_debit_usage(card=card, bytes=0, reference="u0", at=now, now=now)

    assert (result.applied, again.applied, result.debited) == (True, False, [])
    row = LedgerEntry.objects.get(reference="u0")
    assert (row.period_id, row.kind, row.bytes, row.balance_after) == (
        period.pk, LedgerKind.DEBIT_USAGE, 0, GB)
    assert reload(card).usage_updated_at == now


def test_zero_bytes_on_a_card_with_nothing_left_is_a_row_of_no_overage(card, make_plan, now):
    period_create(card=card, plan=make_plan(), source="a", now=now)
    card_debit_usage(card=card, bytes=GB, reference="u1", at=now, now=now)
    card_debit_usage(card=card, bytes=0, reference="u0", at=now, now=now)

    row = LedgerEntry.objects.get(reference="u0")
    assert (row.period_id, row.kind, row.bytes, row.balance_after) == (
        None, LedgerKind.OVERAGE, 0, 0)
    assert reload(card).overage_bytes == 0


def test_zero_bytes_does_not_start_a_first_use_period(card, make_plan, now):
    period = period_create(card=card, plan=make_plan(validity_start="on_first_use"),
                           source="a", now=now)
    card_debit_usage(card=card, bytes=0, reference="u0", at=now, now=now)

    period.refresh_from_db()
    assert period.starts_at is None and period.ends_at is None
