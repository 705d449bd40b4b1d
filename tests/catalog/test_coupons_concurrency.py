"""A coupon's limit holds when many customers check out with it at the same moment."""

import threading

import pytest
from django.db import connection

from simdesk.catalog.coupons import CouponRefused, coupon_release, coupon_reserve, coupon_upsert
from simdesk.catalog.models import COUPON_USED_STATES, CouponKind, CouponRedemption

CHECKOUTS = 10


@pytest.fixture
def limited(now, db):
    """LAST3: 10 % off, three uses in total."""
    return coupon_upsert(code="LAST3", kind=CouponKind.PERCENT, percent_off=10,
                         max_redemptions=3, now=now)


@pytest.fixture
def customers(make_user):
    return [make_user(f"buyer{n}@example.com") for n in range(CHECKOUTS)]


def reserve_for(customer, plan, now, n):
    return coupon_reserve(code="LAST3", customer=customer, plan=plan, currency="USD",
                          amount_minor=650, reference=f"order:{n}", now=now)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_the_limit_through_when_ten_checkouts_race(
        limited, customers, make_plan, now):
    plan = make_plan()
    start = threading.Barrier(CHECKOUTS)
    outcomes, errors = [], []
    lock = threading.Lock()

    def checkout(n):
        try:
            start.wait()
            try:
                reserve_for(customers[n], plan, now, n)
                result = "reserved"
            except CouponRefused as refused:
                result = refused.code
            with lock:
                outcomes.append(result)
        except Exception as error:  # surfaced below; a thread cannot fail the test itself
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout, args=(n,)) for n in range(CHECKOUTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert outcomes.count("reserved") == 3
    assert outcomes.count("coupon_limit_reached") == CHECKOUTS - 3
    assert CouponRedemption.objects.filter(status__in=COUPON_USED_STATES).count() == 3


@pytest.mark.django_db
def test_it_lets_exactly_the_limit_through_one_checkout_after_another(
        limited, customers, make_plan, now):
    plan = make_plan()
    outcomes = []
    for n, customer in enumerate(customers):
        try:
            reserve_for(customer, plan, now, n)
            outcomes.append("reserved")
        except CouponRefused as refused:
            outcomes.append(refused.code)

    assert outcomes == ["reserved"] * 3 + ["coupon_limit_reached"] * (CHECKOUTS - 3)
    # A released use is available to the next checkout, and only one.
    coupon_release(reference="order:0", now=now)
    reserve_for(customers[3], plan, now, 3)
    with pytest.raises(CouponRefused):
        reserve_for(customers[4], plan, now, 4)
