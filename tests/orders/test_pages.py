"""The checkout and order pages as a browser without JavaScript uses them."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from simdesk.catalog.models import Coupon, PlanKind, Stacking
from simdesk.orders.models import Order, OrderStatus
from simdesk.orders.services import order_create, order_pay


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def order(alice, card, plan):
    """alice's order for her card, opened now and not paid yet."""
    return order_create(customer=alice, card=card, plan=plan, currency="USD",
                        idempotency_key="page-key", now=timezone.now())


def test_it_asks_a_visitor_to_sign_in_before_buying(client, plan):
    page = client.get(f"/plans/{plan.code}/").content.decode()

    assert "Sign in to buy" in page
    assert 'name="idempotency_key"' not in page


def test_it_offers_the_customers_cards_and_a_new_esim_with_a_fresh_key_each_time(
        signed_in, card, plan):
    first = signed_in.get(f"/plans/{plan.code}/?currency=EUR").content.decode()
    second = signed_in.get(f"/plans/{plan.code}/?currency=EUR").content.decode()

    assert f'value="{card.public_id}"' in first and 'value="new"' in first
    assert 'name="currency" value="EUR"' in first
    keys = [re.search(r'name="idempotency_key" value="([^"]+)"', p).group(1)
            for p in (first, second)]
    assert keys[0] != keys[1]


def test_it_offers_no_new_esim_for_a_top_up(signed_in, card, make_plan):
    topup = make_plan("topup-1gb", kind=PlanKind.TOPUP, stacking=Stacking.EXTEND)

    page = signed_in.get(f"/plans/{topup.code}/").content.decode()

    assert f'value="{card.public_id}"' in page and 'value="new"' not in page


def test_it_sends_an_incomplete_buy_form_back_without_an_order(signed_in, card, plan):
    response = signed_in.post("/checkout/", {"plan": plan.code, "card": str(card.public_id),
                                             "currency": "USD"}, follow=True)

    assert "out of date" in response.content.decode()
    assert not Order.objects.exists()


def test_it_explains_a_refused_purchase_on_the_plan_page(signed_in, card, plan):
    response = signed_in.post("/checkout/", {"plan": plan.code, "card": "new",
                                             "currency": "USD", "idempotency_key": "k"},
                              follow=True)

    assert "no new eSIMs available" in response.content.decode()
    assert not Order.objects.exists()


def test_it_reprices_the_review_page_with_a_coupon(signed_in, order):
    Coupon.objects.create(code="SAVE25", kind="percent", percent_off=25)

    response = signed_in.post(f"/checkout/{order.public_id}/coupon/",
                              {"coupon_code": "save25"}, follow=True)

    page = response.content.decode()
    assert "Coupon applied" in page and "$9.00" in page and "Coupon SAVE25" in page


def test_it_shows_why_a_coupon_was_refused_beside_the_field(signed_in, order):
    response = signed_in.post(f"/checkout/{order.public_id}/coupon/", {"coupon_code": "NOPE"})

    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()
    order.refresh_from_db()
    assert order.total_minor == 1200


def test_it_refuses_a_payment_method_that_is_not_offered(signed_in, order):
    response = signed_in.post(f"/checkout/{order.public_id}/pay/", {"gateway": "bitcoin"})

    assert response.status_code == 400
    order.refresh_from_db()
    assert order.payment is None


def test_it_sends_a_late_payer_to_the_order_page(signed_in, order):
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    response = signed_in.post(f"/checkout/{order.public_id}/pay/", {"gateway": "sandbox"},
                              follow=True)

    assert "expired before it was paid" in response.content.decode()
    order.refresh_from_db()
    assert order.payment is None


def test_it_polls_while_waiting_and_offers_a_refresh_without_javascript(signed_in, order):
    order_pay(order=order, gateway="sandbox", return_url="http://testserver/",
              now=timezone.now())

    page = signed_in.get(f"/orders/{order.public_id}/").content.decode()
    fragment = signed_in.get(f"/orders/{order.public_id}/status/",
                             headers={"HX-Request": "true"}).content.decode()

    assert 'hx-trigger="every 1s"' in page and 'http-equiv="refresh"' in page
    assert ">Refresh<" in page
    assert fragment.lstrip().startswith('<div id="order-status"')
    assert f'hx-get="/orders/{order.public_id}/status/"' in fragment


def test_it_stops_polling_once_the_order_has_settled(signed_in, order):
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.EXPIRED)

    page = signed_in.get(f"/orders/{order.public_id}/").content.decode()

    assert "hx-trigger" not in page and 'http-equiv="refresh"' not in page


def test_it_has_no_receipt_for_an_unpaid_order(signed_in, order):
    assert signed_in.get(f"/orders/{order.public_id}/receipt/").status_code == 404


def test_it_exports_only_the_customers_own_orders_as_csv(signed_in, order, bob, make_card,
                                                         plan):
    theirs = order_create(customer=bob, card=make_card(owner=bob), plan=plan, currency="EUR",
                          idempotency_key="bob", now=timezone.now())

    response = signed_in.get("/orders/export.csv")

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["order_id"] for row in rows] == [str(order.public_id)]
    assert (rows[0]["total"], rows[0]["total_minor"], rows[0]["currency"]) == ("12.00", "1200",
                                                                               "USD")
    assert str(theirs.public_id) not in response.content.decode()


def test_it_lists_the_recharge_history_with_status_and_amount(signed_in, order):
    page = signed_in.get("/orders/").content.decode()

    assert f"/orders/{order.public_id}/" in page
    assert "Waiting for payment" in page and "$12.00" in page and "Pay now" in page


def test_it_answers_404_for_a_malformed_or_unknown_order(signed_in):
    assert signed_in.get("/orders/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert signed_in.get("/orders/not-a-uuid/").status_code == 404


def test_it_sends_visitors_to_sign_in(client, order):
    for url in ("/orders/", f"/orders/{order.public_id}/", f"/checkout/{order.public_id}/",
                "/orders/export.csv"):
        assert client.get(url).status_code == 302, url
