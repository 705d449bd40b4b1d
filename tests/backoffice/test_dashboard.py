"""The dashboard: figures per day in the staff member's time zone, money per currency.

bea (billing admin) works in Shanghai (UTC+8). It is 2026-06-01 12:00 UTC, 20:00 in
Shanghai, so the default range is 2026-05-03 … 2026-06-01 there. The shop's day in
Shanghai begins at 16:00 UTC the day before: the known data straddles that line.
"""

import itertools
import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from simdesk.backoffice import dashboard
from simdesk.cards.models import CardState, LedgerEntry, LedgerKind, Period
from simdesk.core.charts import series_chart_svg
from simdesk.orders.models import Order, OrderEvent, OrderStatus
from simdesk.renewals.models import AttemptStatus, RenewalAttempt, RenewalAttemptEvent
from simdesk.support.models import Ticket, TicketStatus

from .conftest import sign_in_staff

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
_serial = itertools.count(1)
URL = reverse("backoffice:dashboard")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def shop(make_plan, make_card, alice):
    """alice's card and two plans, europe and asia."""
    return {"europe": make_plan("europe"), "asia": make_plan("asia"),
            "card": make_card(owner=alice), "alice": alice}


def make_order(shop, *, plan="europe", currency="USD", total=1200, paid_at=None,
               status=OrderStatus.PAID, created_at=None):
    order = Order.objects.create(
        customer=shop["alice"], plan=shop[plan], plan_name=f"{plan} plan", currency=currency,
        subtotal_minor=total, total_minor=total, status=status,
        idempotency_key=f"k{next(_serial)}", request_fingerprint="x",
        expires_at=utc(2026, 7, 1), paid_at=paid_at)
    if paid_at:
        OrderEvent.objects.create(order=order, from_status=OrderStatus.PENDING_PAYMENT,
                                  to_status=OrderStatus.PAID, at=paid_at)
    if created_at:
        Order.objects.filter(pk=order.pk).update(created_at=created_at)
        order.refresh_from_db()
    return order


def fail(order, at, to=OrderStatus.PAYMENT_FAILED):
    OrderEvent.objects.create(order=order, from_status=OrderStatus.PENDING_PAYMENT,
                              to_status=to, at=at)


def make_period(shop):
    plan = shop["europe"]
    return Period.objects.create(
        card=shop["card"], plan=plan, plan_code=plan.code, total_bytes=10**9,
        remaining_bytes=10**9, validity_days=30, validity_start=plan.validity_start,
        stacking=plan.stacking, state="active")


def renewal_event(attempt, at, from_status, to_status):
    RenewalAttemptEvent.objects.create(attempt=attempt, from_status=from_status,
                                       to_status=to_status, at=at)


def usage(card, at, used, kind=LedgerKind.DEBIT_USAGE):
    LedgerEntry.objects.create(card=card, kind=kind, bytes=-used,
                               reference=f"usage:test:{next(_serial)}", at=at, created_at=at)


@pytest.fixture
def shanghai_range():
    return dashboard.DayRange(first=date(2026, 5, 30), last=date(2026, 6, 1), zone=SHANGHAI)


def test_it_sums_takings_per_currency_per_shanghai_day(shop, shanghai_range):
    # given: 23:30 and 00:30 Shanghai either side of midnight; USD and EUR on June 1
    make_order(shop, total=1200, paid_at=utc(2026, 5, 31, 15, 30))   # May 31, 23:30
    make_order(shop, total=500, paid_at=utc(2026, 5, 31, 16, 30))    # June 1, 00:30
    make_order(shop, currency="EUR", total=1100, paid_at=utc(2026, 6, 1, 1))  # June 1
    make_order(shop, currency="EUR", total=900, paid_at=utc(2026, 5, 29, 15, 59))  # May 29
    make_order(shop, total=999, status=OrderStatus.PENDING_PAYMENT)  # never paid

    # when
    revenue = dashboard.dashboard_revenue(days=shanghai_range)

    # then: one series per currency, never summed across them
    assert revenue == {"EUR": [0, 0, 1100], "USD": [0, 1200, 500]}


def test_it_counts_orders_paid_and_failed_or_expired_per_day(shop, shanghai_range):
    make_order(shop, paid_at=utc(2026, 5, 31, 15, 30))
    make_order(shop, paid_at=utc(2026, 5, 31, 16, 30))
    twice = make_order(shop, status=OrderStatus.PAYMENT_FAILED)
    fail(twice, utc(2026, 6, 1, 1))
    fail(twice, utc(2026, 6, 1, 2))  # failed again the same day: still one order
    fail(make_order(shop, status=OrderStatus.EXPIRED), utc(2026, 5, 30, 10),
         to=OrderStatus.EXPIRED)
    fail(make_order(shop, status=OrderStatus.EXPIRED), utc(2026, 5, 29, 15),
         to=OrderStatus.EXPIRED)  # May 29 23:00 Shanghai: before the range

    orders = dashboard.dashboard_orders(days=shanghai_range)

    assert orders == {"paid": [0, 1, 1], "failed": [1, 0, 1]}


def test_it_counts_renewals_renewed_and_declined(shop, shanghai_range):
    period = make_period(shop)
    attempt = RenewalAttempt.objects.create(card=shop["card"], period=period,
                                            idempotency_key="renewal:x")
    C, F, G, S, SC = (AttemptStatus.CHARGING, AttemptStatus.FAILED, AttemptStatus.GIVEN_UP,
                      AttemptStatus.SUCCEEDED, AttemptStatus.SCHEDULED)
    renewal_event(attempt, utc(2026, 5, 30, 17), SC, C)       # not an outcome
    renewal_event(attempt, utc(2026, 5, 30, 17), C, F)        # May 31: declined
    renewal_event(attempt, utc(2026, 5, 31, 17), C, G)        # June 1: declined, last try
    renewal_event(attempt, utc(2026, 5, 31, 18), SC, G)       # switched off: not a charge
    renewal_event(attempt, utc(2026, 5, 31, 15, 59), C, S)    # May 31, 23:59
    renewal_event(attempt, utc(2026, 6, 1, 3), C, S)          # June 1

    renewals = dashboard.dashboard_renewals(days=shanghai_range)

    assert renewals == {"succeeded": [0, 1, 1], "failed": [0, 1, 1]}


def test_it_adds_up_data_used_by_all_cards_per_day(shop, make_card, shanghai_range):
    other = make_card()
    usage(shop["card"], utc(2026, 5, 31, 15, 59), 100)    # May 31, 23:59
    usage(shop["card"], utc(2026, 5, 31, 16, 0), 200)     # June 1, 00:00
    usage(shop["card"], utc(2026, 6, 1, 2), 50, kind=LedgerKind.OVERAGE)
    usage(other, utc(2026, 6, 1, 3), 1000)
    LedgerEntry.objects.create(card=other, kind=LedgerKind.ADJUSTMENT, bytes=-7,
                               reference="adjust:x", at=utc(2026, 6, 1, 3),
                               created_at=utc(2026, 6, 1, 3))  # not usage

    assert dashboard.dashboard_data_used(days=shanghai_range) == [0, 100, 1250]


def test_it_ranks_plans_by_orders_with_takings_per_currency(shop, shanghai_range):
    make_order(shop, plan="asia", total=300, paid_at=utc(2026, 6, 1, 1))
    make_order(shop, plan="europe", total=1200, paid_at=utc(2026, 6, 1, 1))
    make_order(shop, plan="europe", currency="EUR", total=1100, paid_at=utc(2026, 6, 1, 2))
    make_order(shop, plan="asia", total=5000, paid_at=utc(2026, 5, 1))  # before the range

    plans = dashboard.dashboard_top_plans(days=shanghai_range)

    assert [(p.code, p.orders, p.revenue) for p in plans] == [
        ("europe", 2, {"EUR": 1100, "USD": 1200}), ("asia", 1, {"USD": 300})]


def test_it_counts_cards_and_open_tickets_now(shop, make_card):
    make_card(state=CardState.ACTIVE)
    make_card(state=CardState.ACTIVE)
    for status in (TicketStatus.OPEN, TicketStatus.OPEN, TicketStatus.RESOLVED):
        Ticket.objects.create(customer=shop["alice"], subject="help", status=status,
                              last_message_at=utc(2026, 6, 1))

    cards = dashboard.dashboard_cards_now()
    tickets = dashboard.dashboard_tickets_now()

    assert cards[CardState.ACTIVE] == 2 and cards[CardState.INACTIVE] == 1
    assert tickets == {"open": 2, "waiting_on_customer": 0, "resolved": 1}


def test_it_shows_the_last_30_days_in_the_staff_zone_with_charts_and_tables(
        client, biller, shop):
    biller.time_zone = "Asia/Shanghai"
    biller.save(update_fields=["time_zone"])
    make_order(shop, total=1250, paid_at=utc(2026, 5, 31, 16, 30))  # June 1 in Shanghai
    make_order(shop, currency="EUR", total=1100, paid_at=utc(2026, 6, 1, 1))
    sign_in_staff(client, biller)

    response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="2026-05-03"' in html and 'value="2026-06-01"' in html
    assert html.count("<svg") == 5  # USD, EUR, orders, renewals, data
    assert 'id="revenue-usd"' in html and 'id="revenue-eur"' in html
    assert "$12.50" in html and "€11.00" in html
    assert "<td>2026-06-01</td>" in html
    assert reverse("backoffice:orders_export") + "?from=2026-05-03&amp;to=2026-06-01" in html
    assert "Asia/Shanghai" in html


def test_it_takes_a_chosen_range(client, biller, shop):
    make_order(shop, total=700, paid_at=utc(2026, 1, 15, 12))
    sign_in_staff(client, biller)

    response = client.get(URL, {"from": "2026-01-10", "to": "2026-01-20"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<td>2026-01-10</td>" in html and "<td>2026-01-20</td>" in html
    assert "<td>2026-01-21</td>" not in html
    assert "$7.00" in html


def test_a_support_agent_sees_no_export_link(client, agent, db):
    sign_in_staff(client, agent)

    response = client.get(URL)

    assert response.status_code == 200
    assert reverse("backoffice:orders_export") not in response.content.decode()


@pytest.mark.parametrize(("params", "message"), [
    ({"from": "yesterday"}, "Enter a valid date"),
    ({"from": "2026-13-01"}, "Enter a valid date"),
    ({"from": "2026-06-02", "to": "2026-06-01"}, "The first day comes after the last day"),
    ({"from": "2025-01-01", "to": "2026-06-01"}, "Choose at most 366 days"),
    ({"from": "0001-01-01", "to": "0001-01-02"}, "Choose a day between"),
    ({"to": "9999-12-31"}, "Choose a day between"),
])
def test_it_explains_bad_dates_without_failing(client, biller, params, message):
    sign_in_staff(client, biller)

    response = client.get(URL, params)

    assert response.status_code == 400
    assert message in response.content.decode()


def test_it_allows_366_days(client, biller):
    sign_in_staff(client, biller)
    last = date(2026, 6, 1)

    response = client.get(URL, {"from": str(last - timedelta(days=365)), "to": str(last)})

    assert response.status_code == 200


def test_the_chart_draws_one_bar_per_series_per_day_and_escapes_labels():
    days = [date(2026, 5, 30), date(2026, 5, 31), date(2026, 6, 1)]

    svg = series_chart_svg(days, [("<paid>", [1, 0, 3]), ("failed", [0, 2, 0])], fmt=str,
                           chart_id="c", title="Orders & more")

    assert svg.count('class="chart-series-0"') == 1 + 3  # the legend's swatch, the bars
    assert svg.count('class="chart-series-1"') == 1 + 3
    assert "&lt;paid&gt;" in svg and "<paid>" not in svg
    assert "Orders &amp; more" in svg
    assert "&lt;paid&gt;: 4 in all" in svg  # the description for screen readers


def test_the_chart_of_an_empty_range_says_so():
    svg = series_chart_svg([date(2026, 6, 1)], [("paid", [0])], fmt=str, chart_id="c",
                           title="Orders")

    assert "Nothing in these days" in svg
