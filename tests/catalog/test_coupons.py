"""Coupons: what they take off, every reason they are refused, and how uses are held."""

from datetime import timedelta

import pytest
from django.utils import translation

from simdesk.catalog.coupons import (
    CouponRefused,
    coupon_confirm,
    coupon_discount_minor,
    coupon_quote,
    coupon_release,
    coupon_reserve,
    coupon_upsert,
)
from simdesk.catalog.models import Coupon, CouponKind, CouponRedemption, CouponRedemptionStatus
from simdesk.core.errors import Conflict, NotFound, ServiceError

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(make_plan):
    """Japan 3 GB: 6.50 USD, 6.00 EUR."""
    return make_plan("japan-3gb-7d")


@pytest.fixture
def other_plan(make_plan):
    return make_plan("usa-5gb-15d", countries=("US",))


@pytest.fixture
def welcome10(now):
    """WELCOME10: 10 % off, once per customer, no limit in total."""
    return coupon_upsert(code="WELCOME10", kind=CouponKind.PERCENT, percent_off=10, now=now)


@pytest.fixture
def travel5(now):
    """TRAVEL5: 5 USD or 5 EUR off (not sold in other currencies), three uses in total."""
    return coupon_upsert(code="TRAVEL5", kind=CouponKind.FIXED,
                         amounts={"USD": 500, "EUR": 500}, max_redemptions=3,
                         max_per_customer=None, now=now)


def reserve(code, customer, plan, now, *, currency="USD", amount_minor=650, reference="order:1"):
    return coupon_reserve(code=code, customer=customer, plan=plan, currency=currency,
                          amount_minor=amount_minor, reference=reference, now=now)


def refusal(code, customer, plan, now, **kwargs) -> CouponRefused:
    with pytest.raises(CouponRefused) as caught:
        reserve(code, customer, plan, now, **kwargs)
    return caught.value


# --- What a coupon takes off ----------------------------------------------------------------

def test_it_takes_a_whole_percent_off_rounded_down(alice, plan, welcome10, now):
    # 10 % of 6.55 is 0.655: the customer gets 0.65 off, never more than stated
    discount = reserve("WELCOME10", alice, plan, now, amount_minor=655)

    assert discount.amount_off_minor == 65
    assert discount.coupon == welcome10
    assert discount.code == "WELCOME10"


def test_it_takes_the_fixed_amount_of_the_orders_currency(alice, plan, travel5, now):
    discount = reserve("TRAVEL5", alice, plan, now, currency="EUR", amount_minor=600)

    assert discount.amount_off_minor == 500
    redemption = CouponRedemption.objects.get(reference="order:1")
    assert (redemption.amount_minor, redemption.currency) == (500, "EUR")


def test_it_never_takes_an_order_below_zero(alice, plan, travel5, now):
    discount = reserve("TRAVEL5", alice, plan, now, amount_minor=300)

    assert discount.amount_off_minor == 300


def test_a_hundred_percent_coupon_makes_the_order_free(now):
    coupon = coupon_upsert(code="FREE", kind=CouponKind.PERCENT, percent_off=100, now=now)

    assert coupon_discount_minor(coupon=coupon, currency="JPY", amount_minor=950) == 950


def test_it_reads_codes_without_regard_to_case_or_spaces(alice, plan, welcome10, now):
    discount = reserve("  welcome10 ", alice, plan, now)

    assert discount.coupon == welcome10


# --- Refusals, each with its reason ---------------------------------------------------------

def test_it_refuses_an_unknown_code(alice, plan, now):
    error = refusal("NOPE", alice, plan, now)

    assert error.code == "coupon_unknown"
    assert "don't know this coupon code" in error.message
    assert not CouponRedemption.objects.exists()


def test_it_refuses_an_inactive_coupon_as_unknown(alice, plan, welcome10, now):
    Coupon.objects.filter(pk=welcome10.pk).update(active=False)

    assert refusal("WELCOME10", alice, plan, now).code == "coupon_unknown"


def test_it_refuses_a_coupon_before_its_start(alice, plan, now):
    coupon_upsert(code="SUMMER", kind=CouponKind.PERCENT, percent_off=5,
                  valid_from=now + timedelta(days=1), now=now)

    error = refusal("SUMMER", alice, plan, now)

    assert error.code == "coupon_not_yet_valid"
    assert error.message == "This coupon cannot be used yet."


def test_it_refuses_an_expired_coupon_from_the_moment_it_ends(alice, plan, now):
    coupon_upsert(code="SPRING", kind=CouponKind.PERCENT, percent_off=5,
                  valid_from=now - timedelta(days=30), valid_until=now, now=now)

    error = refusal("SPRING", alice, plan, now)

    assert error.code == "coupon_expired"
    assert error.message == "This coupon has expired."
    assert reserve("SPRING", alice, plan, now - timedelta(seconds=1)).amount_off_minor == 32


def test_it_refuses_a_coupon_for_another_plan(alice, plan, other_plan, now):
    coupon_upsert(code="JAPAN20", kind=CouponKind.PERCENT, percent_off=20, plans=[plan],
                  now=now)

    error = refusal("JAPAN20", alice, other_plan, now)

    assert error.code == "coupon_wrong_plan"
    assert error.message == "This coupon cannot be used for this plan."
    assert reserve("JAPAN20", alice, plan, now).amount_off_minor == 130


def test_it_refuses_a_fixed_coupon_in_a_currency_it_has_no_amount_for(
        alice, plan, travel5, now):
    error = refusal("TRAVEL5", alice, plan, now, currency="JPY", amount_minor=950)

    assert error.code == "coupon_wrong_currency"
    assert "JPY" in error.message


def test_it_refuses_a_coupon_whose_uses_are_all_taken(alice, make_user, plan, travel5, now):
    for n in range(3):
        reserve("TRAVEL5", make_user(f"c{n}@example.com"), plan, now, reference=f"order:{n}")

    error = refusal("TRAVEL5", alice, plan, now, reference="order:alice")

    assert error.code == "coupon_limit_reached"
    assert error.message == "This coupon has been used as many times as it allows."


def test_it_refuses_a_second_use_by_the_same_customer(alice, plan, welcome10, now):
    reserve("WELCOME10", alice, plan, now, reference="order:1")

    error = refusal("WELCOME10", alice, plan, now, reference="order:2")

    assert error.code == "coupon_customer_limit_reached"
    assert error.message == "You have already used this coupon as many times as it allows."


def test_its_refusals_are_a_service_error_in_the_customers_language(alice, plan, now):
    with translation.override("zh-hans"), pytest.raises(ServiceError) as caught:
        reserve("NOPE", alice, plan, now)

    assert caught.value.status == 400
    assert caught.value.message  # translated by gettext at the moment it is raised


def test_quoting_checks_the_rules_without_holding_a_use(alice, plan, welcome10, now):
    discount = coupon_quote(code="welcome10", customer=alice, plan=plan, currency="USD",
                            amount_minor=650, now=now)

    assert discount.amount_off_minor == 65
    assert not CouponRedemption.objects.exists()
    with pytest.raises(CouponRefused):
        coupon_quote(code="NOPE", customer=alice, plan=plan, currency="USD", amount_minor=650,
                     now=now)


# --- Holding, confirming and releasing a use ------------------------------------------------

def test_it_reserves_once_per_reference(alice, plan, welcome10, now):
    first = reserve("WELCOME10", alice, plan, now, reference="order:1")
    again = reserve("welcome10", alice, plan, now + timedelta(minutes=1), reference="order:1")

    assert again.amount_off_minor == first.amount_off_minor
    assert CouponRedemption.objects.count() == 1


def test_it_refuses_a_second_coupon_on_the_same_order(alice, plan, welcome10, travel5, now):
    reserve("WELCOME10", alice, plan, now, reference="order:1")

    with pytest.raises(Conflict):
        reserve("TRAVEL5", alice, plan, now, reference="order:1")


def test_releasing_a_use_frees_it_for_someone_else(alice, make_user, plan, travel5, now):
    for n in range(3):
        reserve("TRAVEL5", make_user(f"c{n}@example.com"), plan, now, reference=f"order:{n}")

    released = coupon_release(reference="order:0", now=now)

    assert released.status == CouponRedemptionStatus.RELEASED
    assert reserve("TRAVEL5", alice, plan, now, reference="order:alice").amount_off_minor == 500


def test_releasing_is_safe_to_repeat_and_for_orders_without_a_coupon(alice, plan, welcome10,
                                                                   now):
    reserve("WELCOME10", alice, plan, now)

    coupon_release(reference="order:1", now=now)
    coupon_release(reference="order:1", now=now + timedelta(minutes=1))

    assert coupon_release(reference="order:without-coupon", now=now) is None
    redemption = CouponRedemption.objects.get()
    assert redemption.released_at == now


def test_a_released_order_can_reserve_again(alice, plan, welcome10, now):
    reserve("WELCOME10", alice, plan, now)
    coupon_release(reference="order:1", now=now)

    assert reserve("WELCOME10", alice, plan, now).amount_off_minor == 65
    assert CouponRedemption.objects.get().status == CouponRedemptionStatus.RESERVED


def test_confirming_makes_a_use_final_and_is_safe_to_repeat(alice, plan, welcome10, now):
    reserve("WELCOME10", alice, plan, now)

    coupon_confirm(reference="order:1", now=now)
    redemption = coupon_confirm(reference="order:1", now=now + timedelta(minutes=5))

    assert redemption.status == CouponRedemptionStatus.CONFIRMED
    assert redemption.confirmed_at == now
    # A confirmed use still counts against the customer's limit
    assert refusal("WELCOME10", alice, plan, now, reference="order:2").code == \
        "coupon_customer_limit_reached"


def test_confirming_a_released_use_puts_it_back_because_the_customer_paid(
        alice, plan, welcome10, now):
    reserve("WELCOME10", alice, plan, now)
    coupon_release(reference="order:1", now=now)

    redemption = coupon_confirm(reference="order:1", now=now)

    assert redemption.status == CouponRedemptionStatus.CONFIRMED
    assert redemption.released_at is None


def test_confirming_an_order_that_reserved_nothing_is_not_found(now, db):
    with pytest.raises(NotFound):
        coupon_confirm(reference="order:none", now=now)


# --- Managing coupons -----------------------------------------------------------------------

def test_it_keeps_coupons_as_they_were_given_when_upserted_twice(plan, now):
    for _ in range(2):
        coupon = coupon_upsert(code="travel5", kind=CouponKind.FIXED,
                               amounts={"usd": 500, "CNY": 3500}, plans=[plan], now=now)

    assert Coupon.objects.count() == 1
    assert coupon.code == "TRAVEL5"
    assert {(a.currency, a.amount_minor) for a in coupon.amounts.all()} == \
        {("USD", 500), ("CNY", 3500)}
    assert list(coupon.plans.all()) == [plan]


@pytest.mark.parametrize("terms", [
    {"kind": CouponKind.PERCENT, "percent_off": 0},
    {"kind": CouponKind.PERCENT, "percent_off": 101},
    {"kind": CouponKind.PERCENT, "percent_off": None},
    {"kind": CouponKind.FIXED, "amounts": {}},
    {"kind": CouponKind.FIXED, "percent_off": 10, "amounts": {"USD": 100}},
    {"kind": CouponKind.PERCENT, "percent_off": 10, "amounts": {"USD": 100}},
    {"kind": CouponKind.FIXED, "amounts": {"USD": 0}},
    {"kind": CouponKind.FIXED, "amounts": {"XYZ": 100}},
])
def test_it_refuses_a_coupon_that_does_not_make_sense(terms, now, db):
    with pytest.raises(ServiceError):
        coupon_upsert(code="BAD", now=now, **terms)

    assert not Coupon.objects.exists()


def test_it_refuses_a_coupon_that_ends_before_it_starts(now, db):
    with pytest.raises(ServiceError, match="end must be after the start"):
        coupon_upsert(code="BAD", kind=CouponKind.PERCENT, percent_off=5, valid_from=now,
                      valid_until=now - timedelta(days=1), now=now)
