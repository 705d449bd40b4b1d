"""Orders over the API: create idempotently, pay, list, read, receipt; only one's own."""

import json

import pytest
from django.test import Client
from django.utils import timezone

from simdesk.orders.models import Order, OrderStatus
from simdesk.orders.services import order_create, order_mark_paid
from tests.orders.conftest import bob, card, esim_stock, make_card, make_plan, plan  # noqa: F401

pytestmark = pytest.mark.django_db


def post_order(client, body, key="key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/api/v1/orders", json.dumps(body), content_type="application/json",
                       **headers)


@pytest.fixture
def body(card, plan):  # noqa: F811
    """Buy the 5 GB plan for alice's card, in USD."""
    return {"plan": plan.code, "card": str(card.public_id), "currency": "USD"}


def test_it_creates_an_order_for_the_customers_card(alice_api, alice, body, card):  # noqa: F811
    response = post_order(alice_api, body)

    assert response.status_code == 201
    data = response.json()
    order = Order.objects.get(public_id=data["id"])
    assert order.customer == alice
    assert data["status"] == OrderStatus.PENDING_PAYMENT
    assert data["card"] == str(card.public_id)
    assert (data["currency"], data["total_minor"], data["subtotal_minor"]) == ("USD", 1200, 1200)
    assert data["plan"]["code"] == "europe-5gb-30d"


def test_it_returns_the_original_order_for_the_same_key_and_body(alice_api, body):
    first = post_order(alice_api, body)

    again = post_order(alice_api, body)

    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1


def test_it_refuses_the_same_key_with_another_body_with_409(alice_api, body):
    post_order(alice_api, body)

    response = post_order(alice_api, {**body, "currency": "EUR"})

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_it_refuses_an_order_without_an_idempotency_key_with_400(alice_api, body):
    response = post_order(alice_api, body, key=None)

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_missing"
    assert Order.objects.count() == 0


def test_it_buys_a_new_esim_when_asked(alice_api, plan, esim_stock):  # noqa: F811
    response = post_order(alice_api, {"plan": plan.code, "new_esim": True, "currency": "EUR"})

    assert response.status_code == 201
    assert response.json()["new_esim"] is True
    assert response.json()["card"] is None
    assert response.json()["total_minor"] == 1100


def test_it_names_the_field_when_neither_card_nor_new_esim_is_given(alice_api, plan):  # noqa: F811
    response = post_order(alice_api, {"plan": plan.code, "currency": "USD"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert response.json()["errors"][0]["field"] == "card"
    assert Order.objects.count() == 0


def test_it_refuses_both_a_card_and_a_new_esim(alice_api, body):
    response = post_order(alice_api, {**body, "new_esim": True})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "card"
    assert Order.objects.count() == 0


def test_it_answers_404_for_another_customers_card(alice_api, bob, make_card, plan):  # noqa: F811
    bobs_card = make_card(owner=bob)

    response = post_order(alice_api, {"plan": plan.code, "card": str(bobs_card.public_id),
                                      "currency": "USD"})

    assert response.status_code == 404
    assert response.json()["code"] == "card_not_found"
    assert Order.objects.count() == 0


def test_it_answers_404_for_an_unknown_plan(alice_api, card):  # noqa: F811
    response = post_order(alice_api, {"plan": "nope", "card": str(card.public_id),
                                      "currency": "USD"})

    assert response.status_code == 404
    assert response.json()["code"] == "plan_not_found"


def test_it_refuses_a_currency_the_plan_is_not_sold_in(alice_api, body):
    response = post_order(alice_api, {**body, "currency": "JPY"})

    assert response.status_code == 400
    assert response.json()["code"] in {"currency_not_sold", "no_price"}


@pytest.fixture
def bobs_order(bob, make_card, plan):  # noqa: F811
    return order_create(customer=bob, card=make_card(owner=bob), plan=plan, currency="USD",
                        idempotency_key="bob-1", now=timezone.now())


@pytest.mark.parametrize("suffix", ["", "/receipt"])
def test_it_answers_404_for_another_customers_order(alice_api, bobs_order, suffix):
    response = alice_api.get(f"/api/v1/orders/{bobs_order.public_id}{suffix}")

    assert response.status_code == 404


def test_it_answers_404_when_paying_another_customers_order(alice_api, bobs_order):
    response = alice_api.post(f"/api/v1/orders/{bobs_order.public_id}/pay",
                              json.dumps({"gateway": "sandbox"}),
                              content_type="application/json")

    assert response.status_code == 404
    bobs_order.refresh_from_db()
    assert bobs_order.payment_attempts == 0


def test_it_lists_only_the_customers_own_orders_newest_first(alice_api, alice, bobs_order,
                                                             card, plan):  # noqa: F811
    for key in ("a", "b", "c"):
        order_create(customer=alice, card=card, plan=plan, currency="USD", idempotency_key=key,
                     now=timezone.now())

    first = alice_api.get("/api/v1/orders?limit=2").json()
    second = alice_api.get(f"/api/v1/orders?limit=2&cursor={first['next_cursor']}").json()

    ids = [o["id"] for o in first["items"] + second["items"]]
    mine = [str(o.public_id) for o in Order.objects.filter(customer=alice)
            .order_by("-created_at", "-public_id")]
    assert ids == mine
    assert str(bobs_order.public_id) not in ids
    assert second["next_cursor"] is None


def test_it_starts_a_payment_and_gives_the_gateway_address(alice_api, body):
    order_id = post_order(alice_api, body).json()["id"]

    response = alice_api.post(f"/api/v1/orders/{order_id}/pay",
                              json.dumps({"gateway": "sandbox"}),
                              content_type="application/json")

    assert response.status_code == 200
    assert response.json()["redirect_url"]
    order = Order.objects.get(public_id=order_id)
    assert order.payment is not None and order.payment.amount_minor == 1200


def test_it_refuses_an_unknown_gateway(alice_api, body):
    order_id = post_order(alice_api, body).json()["id"]

    response = alice_api.post(f"/api/v1/orders/{order_id}/pay",
                              json.dumps({"gateway": "nope"}), content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "gateway_unavailable"


def test_it_gives_a_receipt_only_for_a_paid_order(alice_api, alice, body):
    order_id = post_order(alice_api, body).json()["id"]
    assert alice_api.get(f"/api/v1/orders/{order_id}/receipt").json()["code"] == "no_receipt"

    order_mark_paid(order=Order.objects.get(public_id=order_id), now=timezone.now())
    response = alice_api.get(f"/api/v1/orders/{order_id}/receipt")

    assert response.status_code == 200
    receipt = response.json()
    assert receipt["order"] == order_id
    assert (receipt["total_minor"], receipt["currency"]) == (1200, "USD")
    assert receipt["customer_email"] == alice.email
    assert receipt["paid_at"]


def test_it_shows_an_order_with_its_status(alice_api, body):
    order_id = post_order(alice_api, body).json()["id"]

    response = alice_api.get(f"/api/v1/orders/{order_id}")

    assert response.status_code == 200
    assert response.json()["status"] == "pending_payment"
    assert response.json()["period"] is None


def test_it_shows_the_status_history_of_an_order(alice_api, body):
    order_id = post_order(alice_api, body).json()["id"]
    order_mark_paid(order=Order.objects.get(public_id=order_id), now=timezone.now())

    history = alice_api.get(f"/api/v1/orders/{order_id}").json()["history"]

    assert [(e["from_status"], e["to_status"]) for e in history][:2] == [
        ("", "pending_payment"), ("pending_payment", "paid")]
    assert all(e["at"] for e in history)


def test_it_filters_the_orders_by_status(alice_api, body):
    paid_id = post_order(alice_api, body, key="k-paid").json()["id"]
    open_id = post_order(alice_api, body, key="k-open").json()["id"]
    order_mark_paid(order=Order.objects.get(public_id=paid_id), now=timezone.now())

    pending = alice_api.get("/api/v1/orders?status=pending_payment").json()["items"]
    wrong = alice_api.get("/api/v1/orders?status=nonsense")

    assert [o["id"] for o in pending] == [open_id]
    assert wrong.status_code == 400
    assert wrong.json()["errors"][0]["field"] == "status"


def test_it_refuses_a_session_post_without_csrf(alice, body):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = post_order(client, body)

    assert response.status_code == 403
    assert Order.objects.count() == 0


def test_it_answers_401_without_credentials(body):
    response = post_order(Client(), body)

    assert response.status_code == 401
