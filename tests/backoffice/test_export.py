"""Orders export for accounting: bea (billing admin) downloads a month of orders."""

import csv
import io
import itertools
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from simdesk.orders.models import Order, OrderStatus
from simdesk.payments.models import Payment, PaymentStatus

from .conftest import sign_in_staff

URL = reverse("backoffice:orders_export")
_serial = itertools.count(1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def signed_in(client, biller):
    return sign_in_staff(client, biller)


@pytest.fixture
def shop(make_plan, make_user):
    return {"plan": make_plan("europe-5gb"),
            "mallory": make_user("=hyperlink(\"x\")@example.com")}


def make_order(shop, *, created_at, currency="USD", subtotal=1200, discount=0,
               status=OrderStatus.FULFILLED, paid_at=None, payment=None,
               plan_name="Europe 5 GB", customer=None):
    order = Order.objects.create(
        customer=customer or shop["mallory"], plan=shop["plan"], plan_name=plan_name,
        currency=currency, subtotal_minor=subtotal, discount_minor=discount,
        total_minor=subtotal - discount, status=status, idempotency_key=f"k{next(_serial)}",
        request_fingerprint="x", expires_at=utc(2026, 7, 1), paid_at=paid_at,
        payment=payment)
    Order.objects.filter(pk=order.pk).update(created_at=created_at)
    order.refresh_from_db()
    return order


def make_payment(shop, *, amount, currency="USD", refunded=0, gateway_id="pi_123"):
    return Payment.objects.create(
        customer=shop["mallory"], gateway="sandbox", amount_minor=amount, currency=currency,
        status=PaymentStatus.SUCCEEDED if not refunded else PaymentStatus.PARTIALLY_REFUNDED,
        idempotency_key=f"p{next(_serial)}", gateway_payment_id=gateway_id,
        refunded_minor=refunded)


def read(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_it_streams_one_row_per_order_with_exact_and_decimal_amounts(signed_in, shop):
    # given: a USD order with a coupon and a partial refund, a JPY order, an unpaid one
    payment = make_payment(shop, amount=1000, refunded=250)
    make_order(shop, created_at=utc(2026, 5, 10, 9), subtotal=1200, discount=200,
               status=OrderStatus.PARTIALLY_REFUNDED, paid_at=utc(2026, 5, 10, 9, 1),
               payment=payment, plan_name="-cmd|' /C calc'!A0")
    make_order(shop, created_at=utc(2026, 5, 11), currency="JPY", subtotal=1500,
               paid_at=utc(2026, 5, 11, 0, 5),
               payment=make_payment(shop, amount=1500, currency="JPY", gateway_id="@pi_9"))
    make_order(shop, created_at=utc(2026, 5, 12), status=OrderStatus.EXPIRED)
    make_order(shop, created_at=utc(2026, 6, 1), status=OrderStatus.EXPIRED)  # after "to"

    # when
    response = signed_in.get(URL, {"from": "2026-05-01", "to": "2026-05-31"})

    # then
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="simdesk-orders-2026-05-01-2026-05-31.csv"')
    rows = read(response)
    assert len(rows) == 3
    usd, jpy, unpaid = rows
    assert usd["created_at_utc"] == "2026-05-10T09:00:00+00:00"
    assert usd["paid_at_utc"] == "2026-05-10T09:01:00+00:00"
    assert usd["customer_email"] == "'=hyperlink(\"x\")@example.com"
    assert usd["plan_code"] == "europe-5gb"
    assert usd["plan_name"] == "'-cmd|' /C calc'!A0"
    assert (usd["currency"], usd["subtotal_minor"], usd["discount_minor"],
            usd["total_minor"]) == ("USD", "1200", "200", "1000")
    assert (usd["subtotal"], usd["discount"], usd["total"]) == ("12.00", "2.00", "10.00")
    assert (usd["status"], usd["refunded_minor"], usd["refunded"]) == (
        "partially_refunded", "250", "2.50")
    assert (usd["gateway"], usd["gateway_payment_id"]) == ("sandbox", "pi_123")
    assert (jpy["total_minor"], jpy["total"], jpy["gateway_payment_id"]) == (
        "1500", "1500", "'@pi_9")
    assert (unpaid["status"], unpaid["paid_at_utc"], unpaid["gateway"],
            unpaid["refunded_minor"]) == ("expired", "", "", "0")


def test_the_days_are_the_staff_members_days(signed_in, biller, shop):
    # given: bea works in Shanghai (UTC+8); her June 1 starts at 16:00 UTC on May 31
    biller.time_zone = "Asia/Shanghai"
    biller.save(update_fields=["time_zone"])
    make_order(shop, created_at=utc(2026, 5, 31, 15, 59))  # May 31, 23:59 Shanghai
    make_order(shop, created_at=utc(2026, 5, 31, 16, 0))   # June 1, 00:00 Shanghai

    rows = read(signed_in.get(URL, {"from": "2026-06-01", "to": "2026-06-01"}))

    assert [row["created_at_utc"] for row in rows] == ["2026-05-31T16:00:00+00:00"]


def test_without_dates_it_exports_the_last_30_days(signed_in, shop, now):
    make_order(shop, created_at=utc(2026, 5, 3, 0, 0))   # the first of the 30 days
    make_order(shop, created_at=utc(2026, 5, 2, 23, 59))  # the day before

    response = signed_in.get(URL)

    assert response.status_code == 200
    assert [row["created_at_utc"] for row in read(response)] == ["2026-05-03T00:00:00+00:00"]
    assert "2026-05-03-2026-06-01" in response["Content-Disposition"]


@pytest.mark.parametrize("params", [
    {"from": "last week"},
    {"from": "2026-06-02", "to": "2026-06-01"},
    {"from": "2020-01-01", "to": "2026-06-01"},
    {"to": "0001-01-01"},
])
def test_bad_dates_get_a_plain_400(signed_in, params):
    response = signed_in.get(URL, params)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert "YYYY-MM-DD" in response.content.decode()


def test_a_support_agent_may_not_export(client, agent):
    sign_in_staff(client, agent)

    assert client.get(URL).status_code == 403
