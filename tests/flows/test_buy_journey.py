"""The whole purchase over HTTP: log in → plan → review → pay on the sandbox's page → its
signed webhook → the period is active on the card → the receipt is in the mailbox.

The sandbox delivers its webhooks through the in-process transport of the test
settings, so each delivery runs the real request path of /webhooks/sandbox/.
"""

import json
import re
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client, override_settings

from simdesk.cards.models import Period, PeriodState
from simdesk.core.clock import utcnow
from simdesk.orders.models import Order, OrderStatus
from simdesk.orders.services import orders_expire
from simdesk.payments.gateways.sandbox.models import SandboxWebhookDelivery
from simdesk.payments.gateways.sandbox.signing import SIGNATURE_HEADER, sign

from .conftest import PASSWORD

WEBHOOK = "/webhooks/sandbox/"
GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 9995"  # insufficient funds


class HeldTransport:
    """A network that loses every sandbox webhook, so the test delivers them itself."""

    def post(self, *, url, body, headers, timeout):
        return 503


def log_in(client, user):
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert match, f"no {name} in the page"
    return match.group(1)


def buy_form(client, plan, currency="USD") -> dict:
    """Open the plan page and read its Buy form as the browser would send it."""
    page = client.get(f"/plans/{plan.code}/?currency={currency}")
    assert page.status_code == 200
    html = page.content.decode()
    card = re.search(r'<select id="buy-card" name="card">\s*<option value="([^"]+)"', html)
    return {"plan": field(html, "plan"), "currency": field(html, "currency"),
            "idempotency_key": field(html, "idempotency_key"), "card": card.group(1)}


def checkout(client, plan, currency="USD") -> Order:
    response = client.post("/checkout/", buy_form(client, plan, currency))
    assert response.status_code == 302
    order = Order.objects.get(public_id=response["Location"].split("/")[2])
    assert response["Location"] == f"/checkout/{order.public_id}/"
    return order


def pay(client, order, card_number=GOOD_CARD):
    """Review → Pay → the sandbox page → submit the test card; returns the final response."""
    review = client.get(f"/checkout/{order.public_id}/")
    assert review.status_code == 200
    to_gateway = client.post(f"/checkout/{order.public_id}/pay/", {"gateway": "sandbox"})
    assert to_gateway.status_code == 302
    pay_page = to_gateway["Location"]
    assert "/sandbox/pay/" in pay_page
    assert client.get(pay_page).status_code == 200
    return client.post(pay_page, {"action": "pay", "card_number": card_number}, follow=True)


def signed_headers(body: bytes) -> dict:
    return {SIGNATURE_HEADER: sign(body=body, timestamp=int(time.time()))}


def held_webhook_body(order) -> bytes:
    delivery = SandboxWebhookDelivery.objects.filter(status="pending").latest("id")
    body = json.loads(delivery.body)
    assert body["data"]["charge"] == order.payment.gateway_payment_id
    return delivery.body.encode()


def with_event_id(body: bytes, event_id: str) -> bytes:
    data = json.loads(body)
    data["id"] = event_id
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()


@pytest.mark.django_db(transaction=True)
def test_it_takes_a_customer_from_the_plan_to_an_active_period_and_a_receipt(
        client, alice, card, plan):
    log_in(client, alice)
    order = checkout(client, plan, currency="EUR")
    review = client.get(f"/checkout/{order.public_id}/").content.decode()
    assert "Europe 5 GB" in review and "€11.00" in review

    result = pay(client, order)

    assert result.redirect_chain[-1][0].endswith(f"/orders/{order.public_id}/")
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    period = order.period
    assert (period.card, period.state, period.total_bytes) == (card, PeriodState.ACTIVE,
                                                                5 * 10**9)
    page = result.content.decode()
    assert "Paid and active" in page and 'hx-trigger="every 1s"' not in page
    receipt = [m for m in mail.outbox if m.to == [alice.email]
               and str(order.public_id) in m.body]
    assert len(receipt) == 1
    assert "11.00" in receipt[0].body
    history = client.get("/orders/").content.decode()
    assert str(order.public_id) in history and "Completed" in history
    assert client.get(f"/orders/{order.public_id}/receipt/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_it_never_opens_a_second_order_for_a_resubmitted_buy_form(client, alice, card, plan):
    log_in(client, alice)
    form = buy_form(client, plan)

    first = client.post("/checkout/", form)
    again = client.post("/checkout/", form)  # double click, or back and submit again
    other_body = client.post("/checkout/", {**form, "currency": "EUR"})

    assert first["Location"] == again["Location"]
    assert Order.objects.count() == 1
    assert other_body.status_code == 409
    assert "already used for a different order" in other_body.content.decode()


@pytest.mark.django_db(transaction=True)
def test_it_never_charges_twice_for_a_resubmitted_pay_form(client, alice, card, plan):
    log_in(client, alice)
    order = checkout(client, plan)

    first = client.post(f"/checkout/{order.public_id}/pay/", {"gateway": "sandbox"})
    again = client.post(f"/checkout/{order.public_id}/pay/", {"gateway": "sandbox"})

    assert first["Location"] == again["Location"]
    order.refresh_from_db()
    assert order.payment_attempts == 1
    assert order.payment.__class__.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_tells_the_customer_why_a_payment_was_declined_and_makes_no_period(
        client, alice, card, plan):
    log_in(client, alice)
    order = checkout(client, plan)

    result = pay(client, order, card_number=DECLINED_CARD)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAYMENT_FAILED
    assert not Period.objects.exists()
    page = result.content.decode()
    assert "Your card has insufficient funds" in page
    assert f"/checkout/{order.public_id}/" in page  # try again
    assert any("insufficient funds" in m.body for m in mail.outbox)

    retry = pay(client, order)  # and then it works with another card
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert "Paid and active" in retry.content.decode()


@pytest.mark.django_db(transaction=True)
def test_it_expires_an_order_nobody_paid(client, alice, card, plan):
    log_in(client, alice)
    order = checkout(client, plan)

    orders_expire(now=utcnow() + timedelta(minutes=31))

    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    page = client.get(f"/orders/{order.public_id}/").content.decode()
    assert "expired before it was paid" in page
    assert client.get(f"/checkout/{order.public_id}/")["Location"] == \
        f"/orders/{order.public_id}/"


@pytest.mark.django_db(transaction=True)
def test_it_shows_another_customers_order_to_nobody_else(client, alice, bob, card, plan):
    log_in(client, alice)
    order = checkout(client, plan)
    client.logout()
    log_in(client, bob)

    for url in (f"/checkout/{order.public_id}/", f"/orders/{order.public_id}/",
                f"/orders/{order.public_id}/status/", f"/orders/{order.public_id}/receipt/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/checkout/{order.public_id}/pay/",
                       {"gateway": "sandbox"}).status_code == 404
    assert str(order.public_id) not in client.get("/orders/export.csv").content.decode()


@pytest.mark.django_db(transaction=True)
@override_settings(SANDBOX_WEBHOOK_TRANSPORT="tests.flows.test_buy_journey.HeldTransport")
def test_it_makes_one_period_from_ten_deliveries_of_the_payment_webhook(
        client, alice, card, plan):
    log_in(client, alice)
    order = checkout(client, plan)
    pay(client, order)
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT  # the webhook was lost on the way
    body = held_webhook_body(order)

    answers = [Client().post(WEBHOOK, data=payload, content_type="application/json",
                             headers=signed_headers(payload)).status_code
               for payload in [body] * 5 + [with_event_id(body, f"evt_again_{i}")
                                            for i in range(5)]]

    assert answers == [200] * 10
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert Period.objects.filter(card=card).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@override_settings(SANDBOX_WEBHOOK_TRANSPORT="tests.flows.test_buy_journey.HeldTransport")
def test_it_makes_one_period_from_ten_concurrent_deliveries_on_postgresql(
        client, alice, card, plan):
    log_in(client, alice)
    order = checkout(client, plan)
    pay(client, order)
    order.refresh_from_db()
    body = held_webhook_body(order)
    # Half are copies of one event, half are distinct events saying the same thing.
    payloads = [body] * 5 + [with_event_id(body, f"evt_{uuid.uuid4().hex}") for _ in range(5)]
    start = threading.Barrier(len(payloads))
    answers: list[int] = []

    def deliver(payload):
        try:
            start.wait()
            answers.append(Client().post(WEBHOOK, data=payload, content_type="application/json",
                                         headers=signed_headers(payload)).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(answers) == [200] * 10
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert Period.objects.filter(card=card).count() == 1
    assert order.events.filter(to_status="fulfilled").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_fulfils_once_when_ten_confirmations_race_on_postgresql(alice, card, plan):
    """The order's own lock, not the webhook's dedupe, keeps racing confirmations to one
    period: ten threads run the payment-succeeded receiver for one payment at once."""
    from simdesk.orders.receivers import on_payment_succeeded
    from simdesk.orders.services import order_create, order_pay
    from simdesk.payments.models import PaymentStatus

    now = utcnow()
    order = order_create(customer=alice, card=card, plan=plan, currency="USD",
                         idempotency_key="race", now=now)
    order_pay(order=order, gateway="sandbox", return_url="http://testserver/", now=now)
    order.refresh_from_db()
    payment = order.payment
    payment.transition(PaymentStatus.SUCCEEDED, at=now, source="test")
    start = threading.Barrier(10)
    errors = []

    def confirm():
        try:
            start.wait()
            on_payment_succeeded(None, payment=payment)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert Period.objects.filter(card=card).count() == 1
    assert order.events.filter(to_status="fulfilled").count() == 1
    receipts = [m for m in mail.outbox if str(order.public_id) in m.body]
    assert len(receipts) == 1
