"""Staff manage coupons in the back office; coupons that make no sense are refused."""

import pytest
from django.urls import reverse

from simdesk.catalog.coupons import coupon_reserve, coupon_upsert
from simdesk.catalog.demo import demo_catalog_load
from simdesk.catalog.models import Coupon, CouponKind, CouponRedemption

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, make_user):
    staff = make_user("staff@example.com", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def coupon_form(*, amounts=(), **fields):
    data = {
        "code": "travel5", "description": "", "active": "on", "kind": "fixed",
        "percent_off": "", "valid_from_0": "", "valid_from_1": "", "valid_until_0": "",
        "valid_until_1": "", "max_redemptions": "", "max_per_customer": "1",
        "amounts-TOTAL_FORMS": str(len(amounts)), "amounts-INITIAL_FORMS": "0",
        "amounts-MIN_NUM_FORMS": "0", "amounts-MAX_NUM_FORMS": "1000",
    }
    for i, (currency, minor) in enumerate(amounts):
        data[f"amounts-{i}-currency"] = currency
        data[f"amounts-{i}-amount_minor"] = str(minor)
    data.update(fields)
    return data


def test_staff_add_a_fixed_amount_coupon_with_amounts_per_currency(staff_client):
    response = staff_client.post(reverse("admin:catalog_coupon_add"),
                                 coupon_form(amounts=[("USD", 500), ("cny", 3500)]))

    assert response.status_code == 302, response.content.decode()[:3000]
    coupon = Coupon.objects.get()
    assert coupon.code == "TRAVEL5"
    assert {(a.currency, a.amount_minor) for a in coupon.amounts.all()} == \
        {("USD", 500), ("CNY", 3500)}


def test_staff_cannot_save_a_fixed_coupon_without_an_amount(staff_client):
    response = staff_client.post(reverse("admin:catalog_coupon_add"), coupon_form())

    assert response.status_code == 200
    assert "Give the amount off in at least one currency" in response.content.decode()
    assert not Coupon.objects.exists()


def test_staff_cannot_give_a_percent_coupon_amounts(staff_client):
    response = staff_client.post(
        reverse("admin:catalog_coupon_add"),
        coupon_form(kind="percent", percent_off="10", amounts=[("USD", 500)]),
    )

    assert response.status_code == 200
    assert "A percent coupon takes no amounts per currency" in response.content.decode()
    assert not Coupon.objects.exists()


def test_staff_cannot_give_more_than_a_hundred_percent(staff_client):
    response = staff_client.post(reverse("admin:catalog_coupon_add"),
                                 coupon_form(kind="percent", percent_off="150"))

    assert response.status_code == 200
    assert not Coupon.objects.exists()


def test_the_list_shows_each_coupons_discount_and_uses(staff_client, alice, make_plan, now):
    plan = make_plan()
    coupon_upsert(code="WELCOME10", kind=CouponKind.PERCENT, percent_off=10, now=now)
    coupon_reserve(code="WELCOME10", customer=alice, plan=plan, currency="USD",
                   amount_minor=650, reference="order:1", now=now)

    page = staff_client.get(reverse("admin:catalog_coupon_changelist")).content.decode()
    uses_page = staff_client.get(reverse("admin:catalog_couponredemption_changelist"))

    assert "WELCOME10" in page
    assert "10 %" in page
    assert "order:1" in uses_page.content.decode()


def test_the_demo_catalog_loads_its_coupons_once(now):
    demo_catalog_load(now=now)
    demo_catalog_load(now=now)

    coupons = {c.code: c for c in Coupon.objects.prefetch_related("amounts", "plans")}
    assert set(coupons) == {"WELCOME10", "TRAVEL5", "JAPAN20"}
    assert coupons["WELCOME10"].percent_off == 10
    assert {(a.currency, a.amount_minor) for a in coupons["TRAVEL5"].amounts.all()} == \
        {("USD", 500), ("EUR", 500), ("CNY", 3500)}
    assert {p.code for p in coupons["JAPAN20"].plans.all()} == {"japan-3gb-7d",
                                                                "japan-10gb-30d"}
    assert not CouponRedemption.objects.exists()
