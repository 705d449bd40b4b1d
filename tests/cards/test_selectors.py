import uuid
import zoneinfo
from datetime import date, timedelta

import pytest

from simdesk.cards.selectors import (
    card_balance,
    card_get_for_customer,
    card_usage_by_day,
    cards_for_customer,
    cards_with_due_work,
)
from simdesk.cards.services import card_debit_usage, period_create
from simdesk.catalog.models import ValidityStart
from simdesk.core.errors import NotFound

from .conftest import GB, MB

pytestmark = pytest.mark.django_db


def test_it_finds_the_customers_own_card(alice, card):
    assert card_get_for_customer(customer=alice, card_public_id=str(card.public_id)) == card


@pytest.mark.parametrize("key", ["other", "random", "garbage"])
def test_it_hides_every_card_that_is_not_the_customers(alice, make_user, make_card, key):
    bob_card = make_card(owner=make_user("bob@example.com"))
    value = {"other": bob_card.public_id, "random": uuid.uuid4(), "garbage": "1 OR 1=1"}[key]
    with pytest.raises(NotFound):
        card_get_for_customer(customer=alice, card_public_id=value)


def test_it_lists_only_the_customers_cards(alice, make_user, make_card, card):
    make_card(owner=make_user("bob@example.com"))
    make_card()
    assert list(cards_for_customer(customer=alice)) == [card]


def test_the_balance_adds_active_periods_and_shows_what_is_queued(card, make_plan, now):
    period_create(card=card, plan=make_plan(data_bytes=GB, days=30), source="a", now=now)
    queued = period_create(card=card, plan=make_plan(data_bytes=3 * GB, days=7), source="b",
                           now=now)
    card_debit_usage(card=card, bytes=250 * MB, reference="u1", at=now, now=now)
    card.refresh_from_db()
    balance = card_balance(card=card, now=now)
    assert (balance.remaining_bytes, balance.total_bytes) == (750 * MB, GB)
    assert balance.used_percent == 25
    assert balance.valid_until == now + timedelta(days=30)
    assert balance.next_queued.public_id == queued.public_id
    assert balance.next_queued.total_bytes == 3 * GB
    assert balance.usage_updated_at == now
    assert not balance.unlimited and balance.has_data


def test_the_card_with_its_balance_is_one_query_and_the_same_balance(
        card, make_plan, now, django_assert_num_queries):
    period_create(card=card, plan=make_plan(data_bytes=GB, days=30), source="a", now=now)
    period_create(card=card, plan=make_plan(data_bytes=3 * GB, days=7), source="b", now=now)
    card_debit_usage(card=card, bytes=250 * MB, reference="u1", at=now, now=now)

    with django_assert_num_queries(1):
        loaded = card_get_for_customer(customer=card.owner, card_public_id=card.public_id,
                                       with_balance=True)
        balance = card_balance(card=loaded, now=now)

    card.refresh_from_db()
    assert loaded == card and loaded.usage_updated_at == now
    assert balance == card_balance(card=card, now=now)
    assert (balance.remaining_bytes, balance.queued_count) == (750 * MB, 1)


def test_the_card_with_its_balance_has_every_field_as_the_orm_loads_it(card, make_plan, now):
    from simdesk.cards.models import Card, Period

    period_create(card=card, plan=make_plan(data_bytes=GB, days=30), source="a", now=now)
    card_debit_usage(card=card, bytes=MB, reference="u1", at=now, now=now)

    loaded = card_get_for_customer(customer=card.owner, card_public_id=card.public_id,
                                   with_balance=True)

    expected_card = Card.objects.get(pk=card.pk)
    [period] = loaded.open_periods
    expected_period = Period.objects.get(card=card)
    for model, got, expected in ((Card, loaded, expected_card), (Period, period, expected_period)):
        for model_field in model._meta.concrete_fields:
            name = model_field.attname
            assert getattr(got, name) == getattr(expected, name), name
    assert isinstance(period.public_id, uuid.UUID) and period.names == expected_period.names
    assert period.ends_at.tzinfo is not None and period.card is loaded


def test_the_card_with_its_balance_is_found_with_nothing_open(card, now):
    loaded = card_get_for_customer(customer=card.owner, card_public_id=card.public_id,
                                   with_balance=True)
    balance = card_balance(card=loaded, now=now)
    assert loaded == card and balance.remaining_bytes == 0 and balance.next_queued is None


def test_the_card_with_its_balance_hides_another_customers_card(alice, make_user, make_card,
                                                                 make_plan, now):
    bob_card = make_card(owner=make_user("bob@example.com"))
    period_create(card=bob_card, plan=make_plan(data_bytes=GB), source="a", now=now)
    with pytest.raises(NotFound):
        card_get_for_customer(customer=alice, card_public_id=bob_card.public_id,
                              with_balance=True)


def test_the_balance_leaves_out_a_period_that_ended_before_the_sweep_ran(card, make_plan, now):
    period_create(card=card, plan=make_plan(data_bytes=GB, days=1), source="a", now=now)
    balance = card_balance(card=card, now=now + timedelta(days=1, seconds=1))
    assert balance.remaining_bytes == 0 and not balance.has_data


def test_the_balance_says_when_a_plan_waits_for_first_use(card, make_plan, now):
    period_create(card=card, plan=make_plan(validity_start=ValidityStart.ON_FIRST_USE),
                  source="a", now=now)
    balance = card_balance(card=card, now=now)
    assert balance.waiting_for_first_use and balance.valid_until is None


def test_usage_by_day_counts_in_the_customers_time_zone(card, make_plan, now):
    period_create(card=card, plan=make_plan(data_bytes=10 * GB), source="a", now=now)
    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    # 2026-06-01 12:00 UTC is 20:00 in Shanghai; 17:00 UTC is already 2 June there
    card_debit_usage(card=card, bytes=MB, reference="u1", at=now, now=now)
    later = now + timedelta(hours=5)
    card_debit_usage(card=card, bytes=2 * MB, reference="u2", at=later, now=later)
    days = card_usage_by_day(card=card, now=later, tz=shanghai, days=3)
    assert days == [(date(2026, 5, 31), 0), (date(2026, 6, 1), MB), (date(2026, 6, 2), 2 * MB)]


def test_due_work_finds_cards_with_ended_or_stranded_periods(card, make_card, make_plan, now):
    period_create(card=card, plan=make_plan(days=1), source="a", now=now)
    idle = make_card()
    assert list(cards_with_due_work(now=now)) == []
    assert list(cards_with_due_work(now=now + timedelta(days=1))) == [card]
    assert idle not in cards_with_due_work(now=now + timedelta(days=1))
