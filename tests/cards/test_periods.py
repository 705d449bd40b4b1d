"""Selling periods onto a card: stacking rules, validity start, and moving through time."""

from datetime import timedelta

import pytest

from simdesk.cards.models import CardState, LedgerEntry, LedgerKind, PeriodState
from simdesk.cards.selectors import card_balance
from simdesk.cards.services import (
    card_debit_usage,
    period_adjust,
    period_close,
    period_create,
    periods_advance,
)
from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
from simdesk.core.errors import ServiceError

from .conftest import GB, MB

pytestmark = pytest.mark.django_db


def reload(obj):
    obj.refresh_from_db()
    return obj


def test_it_starts_an_on_purchase_period_at_once_and_activates_the_card(card, make_plan, now):
    plan = make_plan(data_bytes=GB, days=30)
    period = period_create(card=card, plan=plan, source="order:1", now=now)
    assert period.state == PeriodState.ACTIVE
    assert period.starts_at == now
    assert period.ends_at == now + timedelta(days=30)
    assert (period.total_bytes, period.remaining_bytes) == (GB, GB)
    assert reload(card).state == CardState.ACTIVE
    credit = LedgerEntry.objects.get(period=period)
    assert (credit.kind, credit.bytes, credit.balance_after) == (
        LedgerKind.CREDIT_PURCHASE, GB, GB)


def test_it_copies_the_plan_terms_so_editing_the_plan_changes_nothing_sold(card, make_plan, now):
    plan = make_plan(data_bytes=GB, days=30)
    period = period_create(card=card, plan=plan, source="order:1", now=now)
    plan.data_bytes, plan.validity_days = 5 * GB, 90
    plan.save()
    period = reload(period)
    assert (period.total_bytes, period.validity_days, period.plan_code) == (GB, 30, plan.code)
    assert period.name_for("zh-hans") == f"{plan.code} (en)"


def test_it_never_makes_two_periods_from_one_source(card, make_plan, now):
    plan = make_plan()
    first = period_create(card=card, plan=plan, source="order:7", now=now)
    again = period_create(card=card, plan=plan, source="order:7", now=now + timedelta(hours=1))
    assert again.pk == first.pk
    assert card.periods.count() == 1
    assert LedgerEntry.objects.filter(card=card).count() == 1


def test_it_queues_the_new_period_behind_the_current_one(card, make_plan, now):
    current = period_create(card=card, plan=make_plan(days=30), source="a", now=now)
    queued = period_create(card=card, plan=make_plan(data_bytes=2 * GB, days=7), source="b",
                           now=now + timedelta(days=1))
    assert queued.state == PeriodState.QUEUED
    assert queued.starts_at is None and queued.ends_at is None
    assert card_balance(card=card, now=now).remaining_bytes == GB
    assert card_balance(card=card, now=now).next_queued.public_id == queued.public_id

    # when the current one expires, the queued one starts exactly at its end,
    # even though the sweep only runs five hours later
    periods_advance(card=card, now=current.ends_at + timedelta(hours=5))
    current, queued = reload(current), reload(queued)
    assert current.state == PeriodState.EXPIRED
    assert queued.state == PeriodState.ACTIVE
    assert queued.starts_at == current.ends_at
    assert queued.ends_at == current.ends_at + timedelta(days=7)


def test_it_starts_the_queued_period_at_the_moment_usage_exhausts_the_current_one(
        card, make_plan, now):
    current = period_create(card=card, plan=make_plan(data_bytes=100 * MB), source="a", now=now)
    queued = period_create(card=card, plan=make_plan(data_bytes=GB, days=7), source="b", now=now)
    used_at = now + timedelta(days=2)
    result = card_debit_usage(card=card, bytes=150 * MB, reference="usage:t:1", at=used_at,
                              now=used_at + timedelta(hours=3))
    current, queued = reload(current), reload(queued)
    assert current.state == PeriodState.EXHAUSTED
    assert current.closed_at == used_at
    assert queued.starts_at == used_at
    assert queued.remaining_bytes == GB - 50 * MB
    assert result.debited == [(current.pk, 100 * MB), (queued.pk, 50 * MB)]
    assert result.overage_bytes == 0


def test_it_chains_several_expiries_in_one_late_sweep(card, make_plan, now):
    first = period_create(card=card, plan=make_plan(days=1), source="a", now=now)
    second = period_create(card=card, plan=make_plan(days=1), source="b", now=now)
    third = period_create(card=card, plan=make_plan(days=1), source="c", now=now)
    periods_advance(card=card, now=now + timedelta(days=2, hours=1))
    first, second, third = reload(first), reload(second), reload(third)
    assert [first.state, second.state, third.state] == [
        PeriodState.EXPIRED, PeriodState.EXPIRED, PeriodState.ACTIVE]
    assert second.starts_at == first.ends_at
    assert third.starts_at == second.ends_at == now + timedelta(days=2)
    assert third.ends_at == now + timedelta(days=3)


def test_it_expires_the_unused_remainder_through_the_ledger(card, make_plan, now):
    period = period_create(card=card, plan=make_plan(data_bytes=GB, days=1), source="a", now=now)
    card_debit_usage(card=card, bytes=300 * MB, reference="u1", at=now, now=now)
    result = periods_advance(card=card, now=now + timedelta(days=1))
    period = reload(period)
    assert result.expired == [period]
    assert period.state == PeriodState.EXPIRED and period.remaining_bytes == 0
    expiry = LedgerEntry.objects.get(period=period, kind=LedgerKind.EXPIRY)
    assert (expiry.bytes, expiry.balance_after, expiry.at) == (-700 * MB, 0, period.ends_at)
    assert reload(card).state == CardState.INACTIVE


def test_it_does_not_expire_a_period_a_moment_before_its_end(card, make_plan, now):
    period = period_create(card=card, plan=make_plan(days=1), source="a", now=now)
    periods_advance(card=card, now=period.ends_at - timedelta(microseconds=1))
    assert reload(period).state == PeriodState.ACTIVE


def test_it_adds_data_and_days_to_the_current_period_for_an_extend_plan(card, make_plan, now):
    current = period_create(card=card, plan=make_plan(data_bytes=GB, days=30), source="a",
                            now=now)
    topup = make_plan(data_bytes=500 * MB, days=5, stacking=Stacking.EXTEND,
                      kind=PlanKind.TOPUP)
    later = now + timedelta(days=10)
    result = period_create(card=card, plan=topup, source="b", now=later)
    current = reload(current)
    assert result.pk == current.pk
    assert card.periods.count() == 1
    assert current.ends_at == now + timedelta(days=35)  # max(end, now) + days
    assert (current.total_bytes, current.remaining_bytes) == (GB + 500 * MB, GB + 500 * MB)
    extend = LedgerEntry.objects.get(period=current, kind=LedgerKind.CREDIT_EXTEND)
    assert (extend.bytes, extend.reference) == (500 * MB, "purchase:b")


def test_it_makes_an_extend_purchase_its_own_period_when_nothing_is_active(
        card, make_plan, now):
    topup = make_plan(data_bytes=500 * MB, days=5, stacking=Stacking.EXTEND,
                      kind=PlanKind.TOPUP)
    period = period_create(card=card, plan=topup, source="b", now=now)
    assert period.state == PeriodState.ACTIVE
    assert period.ends_at == now + timedelta(days=5)


def test_it_runs_a_parallel_period_beside_the_current_one(card, make_plan, now):
    current = period_create(card=card, plan=make_plan(data_bytes=GB, days=30), source="a",
                            now=now)
    extra = period_create(card=card, plan=make_plan(data_bytes=GB, days=7,
                                                    stacking=Stacking.PARALLEL),
                          source="b", now=now + timedelta(days=1))
    assert extra.state == PeriodState.ACTIVE
    assert extra.starts_at == now + timedelta(days=1)
    assert reload(current).state == PeriodState.ACTIVE
    assert card_balance(card=card, now=now + timedelta(days=1)).remaining_bytes == 2 * GB


def test_it_starts_an_on_first_use_period_at_the_first_usage(card, make_plan, now):
    plan = make_plan(days=7, validity_start=ValidityStart.ON_FIRST_USE)
    period = period_create(card=card, plan=plan, source="a", now=now)
    assert period.state == PeriodState.ACTIVE and period.ends_at is None
    assert reload(card).state == CardState.ACTIVE  # usable, so the network lets it attach
    assert card_balance(card=card, now=now).waiting_for_first_use

    # nothing expires while it waits
    periods_advance(card=card, now=now + timedelta(days=60))
    assert reload(period).state == PeriodState.ACTIVE

    first_use = now + timedelta(days=60, hours=2)
    card_debit_usage(card=card, bytes=MB, reference="u1", at=first_use,
                     now=first_use + timedelta(minutes=5))
    period = reload(period)
    assert period.starts_at == first_use
    assert period.ends_at == first_use + timedelta(days=7)


def test_it_uses_a_first_use_period_only_when_nothing_else_can_take_the_usage(
        card, make_plan, now):
    running = period_create(card=card, plan=make_plan(data_bytes=100 * MB), source="a", now=now)
    waiting = period_create(card=card, plan=make_plan(
        data_bytes=GB, validity_start=ValidityStart.ON_FIRST_USE, stacking=Stacking.PARALLEL),
        source="b", now=now)
    card_debit_usage(card=card, bytes=50 * MB, reference="u1", at=now, now=now)
    assert reload(waiting).starts_at is None
    at = now + timedelta(hours=1)
    card_debit_usage(card=card, bytes=80 * MB, reference="u2", at=at, now=at)
    running, waiting = reload(running), reload(waiting)
    assert running.state == PeriodState.EXHAUSTED
    assert waiting.starts_at == at
    assert waiting.remaining_bytes == GB - 30 * MB


def test_it_keeps_the_clock_still_while_the_card_is_paused(card, make_plan, now):
    period = period_create(card=card, plan=make_plan(days=1), source="a", now=now)
    card = reload(card)
    card.pause(at=now)
    periods_advance(card=card, now=now + timedelta(days=3))
    assert reload(period).state == PeriodState.ACTIVE
    assert reload(card).state == CardState.PAUSED


def test_it_refuses_a_plan_on_a_terminated_card(card, make_plan, now):
    card.terminate(at=now)
    with pytest.raises(ServiceError):
        period_create(card=card, plan=make_plan(), source="a", now=now)


def test_it_refunds_the_remainder_and_starts_the_queued_period(card, make_plan, now):
    current = period_create(card=card, plan=make_plan(data_bytes=GB), source="a", now=now)
    queued = period_create(card=card, plan=make_plan(data_bytes=GB), source="b", now=now)
    card_debit_usage(card=card, bytes=400 * MB, reference="u1", at=now, now=now)
    later = now + timedelta(days=3)
    period_close(period=current, to=PeriodState.REFUNDED, reference="refund:1", now=later)
    period_close(period=current, to=PeriodState.REFUNDED, reference="refund:1", now=later)
    current, queued = reload(current), reload(queued)
    assert current.state == PeriodState.REFUNDED and current.remaining_bytes == 0
    assert LedgerEntry.objects.get(kind=LedgerKind.REFUND).bytes == -600 * MB
    assert queued.state == PeriodState.ACTIVE and queued.starts_at == later


def test_it_gives_data_back_to_a_used_up_period_by_adjustment(card, make_plan, now):
    period = period_create(card=card, plan=make_plan(data_bytes=100 * MB), source="a", now=now)
    card_debit_usage(card=card, bytes=100 * MB, reference="u1", at=now, now=now)
    assert reload(card).state == CardState.INACTIVE
    period_adjust(period=period, amount=20 * MB, reference="adjustment:1", now=now,
                  note="goodwill")
    period_adjust(period=period, amount=20 * MB, reference="adjustment:1", now=now)
    period = reload(period)
    assert period.state == PeriodState.ACTIVE
    assert (period.total_bytes, period.remaining_bytes) == (120 * MB, 20 * MB)
    assert reload(card).state == CardState.ACTIVE


def test_it_refuses_to_adjust_a_balance_below_zero(card, make_plan, now):
    period = period_create(card=card, plan=make_plan(data_bytes=100 * MB), source="a", now=now)
    with pytest.raises(ServiceError):
        period_adjust(period=period, amount=-101 * MB, reference="adjustment:1", now=now)
    assert reload(period).remaining_bytes == 100 * MB
