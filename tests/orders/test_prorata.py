"""The pro-rata rule: the smaller of the unused days share and unused data share, rounded
down to a whole minor unit, in exact integer arithmetic."""

from datetime import timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simdesk.cards.models import PeriodState
from simdesk.core.errors import ServiceError
from simdesk.orders.refunds import period_refund_quote, prorata_amount_minor, prorata_share
from tests.orders.conftest import GB
from tests.orders.refund_fixtures import use

DAY = 24 * 3600


def amount(paid, *, unused_s, total_s=30 * DAY, unused_b=None, total_b=None):
    share = prorata_share(unused_seconds=unused_s, total_seconds=total_s,
                          unused_bytes=unused_b, total_bytes=total_b)
    return prorata_amount_minor(paid_minor=paid, share=share)


def test_it_takes_the_days_share_when_fewer_days_than_data_are_left():
    # given 10 of 30 days and 4 of 5 GB left, when quoted, then a third of the price
    assert amount(1200, unused_s=10 * DAY, unused_b=4 * GB, total_b=5 * GB) == 400


def test_it_takes_the_data_share_when_less_data_than_days_is_left():
    # given 20 of 30 days but only 1 of 5 GB left, then a fifth of the price
    assert amount(1200, unused_s=20 * DAY, unused_b=1 * GB, total_b=5 * GB) == 240


def test_it_rounds_yen_down_to_a_whole_yen():
    # 1000 JPY × 1/3 = 333.33… → 333 (JPY has no decimals: the minor unit is one yen)
    assert amount(1000, unused_s=10 * DAY, unused_b=5 * GB, total_b=5 * GB) == 333
    # 1000 JPY × 2/3 = 666.66… → 666, never 667
    assert amount(1000, unused_s=20 * DAY, unused_b=5 * GB, total_b=5 * GB) == 666


def test_it_rounds_yuan_down_to_a_whole_fen():
    # 99.99 CNY = 9999 fen × 1/7 = 1428.43 → 1428 fen = 14.28 CNY
    assert amount(9999, unused_s=1 * DAY, total_s=7 * DAY) == 1428
    # 12.34 CNY × 2/3 = 822.66… fen → 822 fen
    assert amount(1234, unused_s=20 * DAY, unused_b=GB, total_b=GB) == 822


def test_it_counts_only_days_for_an_unlimited_period():
    assert amount(3000, unused_s=15 * DAY, unused_b=None, total_b=None) == 1500


def test_it_refunds_all_of_a_period_not_started_and_nothing_of_one_used_up():
    assert amount(1200, unused_s=30 * DAY, unused_b=5 * GB, total_b=5 * GB) == 1200
    assert amount(1200, unused_s=29 * DAY, unused_b=0, total_b=5 * GB) == 0
    assert amount(1200, unused_s=0, unused_b=5 * GB, total_b=5 * GB) == 0


def test_it_never_uses_floats_even_for_bytes_beyond_float_precision():
    # 2**60 bytes is past a float's 53-bit mantissa; one byte less than all must not
    # round up to the full price.
    total = 2**60
    share = prorata_share(unused_seconds=30 * DAY, total_seconds=30 * DAY,
                          unused_bytes=total - 1, total_bytes=total)
    assert share == Fraction(total - 1, total)
    assert prorata_amount_minor(paid_minor=10**15, share=share) == 10**15 - 1


@given(paid=st.integers(0, 10**12), unused_s=st.integers(0, 40 * DAY),
       unused_b=st.integers(0, 10 * GB))
def test_it_is_never_more_than_the_exact_share_nor_a_minor_unit_less(paid, unused_s, unused_b):
    total_s, total_b = 30 * DAY, 5 * GB
    exact = paid * min(Fraction(min(unused_s, total_s), total_s),
                       Fraction(min(unused_b, total_b), total_b))
    got = amount(paid, unused_s=unused_s, total_s=total_s, unused_b=unused_b, total_b=total_b)
    assert isinstance(got, int)
    assert exact - 1 < got <= exact


# --- Quoting a real period ------------------------------------------------------------------

def test_it_quotes_a_bought_period_by_its_scarcer_share(bought, card, plan, now):
    # given alice bought 5 GB for 30 days at 12.00 USD, and 10 days later used 4 GB
    order = bought(plan, at=now)
    use(card, 4 * GB, at=now + timedelta(days=10))
    order.period.refresh_from_db()

    # when quoted 10 days in: 20/30 days but 1/5 of the data left
    quote = period_refund_quote(period=order.period, now=now + timedelta(days=10))

    # then the data share wins: 12.00 × 1/5
    assert (quote.prorata_minor, quote.currency) == (240, "USD")
    assert quote.days_percent == 66 and quote.data_percent == 20
    assert not quote.unused and quote.within_window


def test_it_quotes_the_days_share_of_an_untouched_period_in_yen(bought, make_plan, now):
    plan = make_plan("japan-3gb-30d", prices={"JPY": 1000})
    order = bought(plan, at=now, currency="JPY")

    quote = period_refund_quote(period=order.period, now=now + timedelta(days=20))

    assert quote.prorata_minor == 333  # 1000 × 10/30, rounded down
    assert quote.unused and quote.within_window is False  # 20 days > the 14-day window
    assert quote.amount_minor == 333


def test_it_quotes_a_queued_period_as_wholly_unused(bought, plan, make_plan, now):
    bought(plan, at=now)
    queued = bought(make_plan("second", prices={"CNY": 9999}), at=now + timedelta(days=1),
                    currency="CNY").period
    assert queued.state == PeriodState.QUEUED

    quote = period_refund_quote(period=queued, now=now + timedelta(days=5))

    assert quote.share == 1 and quote.prorata_minor == 9999 and quote.automatic


def test_it_refuses_to_quote_a_period_nobody_paid_for(card, plan, now):
    from simdesk.cards.services import period_create

    granted = period_create(card=card, plan=plan, source="staff:gift", now=now)

    with pytest.raises(ServiceError) as refused:
        period_refund_quote(period=granted, now=now)
    assert refused.value.code == "period_not_refundable"


def test_it_stops_counting_days_while_the_card_is_paused(bought, card, alice, make_plan, now):
    from simdesk.cards.services import card_pause

    plan = make_plan("pausable", pausable=True, max_pause_days=10)
    order = bought(plan, at=now)
    card_pause(card=card, acting_user=alice, now=now + timedelta(days=5))
    order.period.refresh_from_db()

    # three days into the pause, 25 of the 30 days are still unused
    quote = period_refund_quote(period=order.period, now=now + timedelta(days=8))

    assert quote.unused_seconds == 25 * DAY and quote.prorata_minor == 1000
