"""Races that only a real database shows: two submits of one Buy form, two customers
paying for new eSIMs at the same moment, and what happens to an order while its gateway
is being asked."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from simdesk.orders.models import Order
from simdesk.orders.services import (
    order_create,
    order_mark_paid,
    order_pay,
    order_payment_confirmed,
)

from .gateways import oneoff  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(jobs):
    start = threading.Barrier(len(jobs))
    results, errors = [], []

    def run(job):
        try:
            start.wait()
            results.append(job())
        except Exception as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def test_it_opens_one_order_when_the_same_buy_form_arrives_twice_at_once(alice, card, plan):
    def submit():
        return order_create(customer=alice, card=card, plan=plan, currency="USD",
                            idempotency_key="same-form", now=timezone.now()).pk

    results, errors = race([submit] * 6)

    assert errors == []
    assert len(set(results)) == 1
    assert Order.objects.count() == 1


def test_it_gives_concurrent_new_esim_buyers_different_cards(alice, bob, plan, esim_stock):
    now = timezone.now()
    orders = [order_create(customer=who, card=None, plan=plan, currency="USD",
                           idempotency_key=f"esim-{who.pk}", now=now) for who in (alice, bob)]
    for order in orders:
        order_mark_paid(order=order, now=now)

    results, errors = race([lambda o=o: order_payment_confirmed(order=o, now=now).card_id
                            for o in orders])

    assert errors == []
    assert sorted(results) == sorted(card.pk for card in esim_stock)
    for order in orders:
        order.refresh_from_db()
        assert order.card.owner == order.customer


# --- Paying while the gateway is asked --------------------------------------------------------

RETURN_URL = "http://testserver/orders/x/"


def from_another_connection(work):
    """Run ``work`` on a connection of its own (a thread), as the webhook endpoint or a
    second browser tab would, and return what it returned or raised."""
    outcome = {}

    def run():
        try:
            with connection.cursor() as cursor:  # waiting for a lock is a failure here
                cursor.execute("SET lock_timeout = '5s'")
            outcome["result"] = work()
        except Exception as error:  # noqa: BLE001 - reported by the test
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    return outcome


@pytest.fixture
def order(alice, card, plan):
    return order_create(customer=alice, card=card, plan=plan, currency="USD",
                        idempotency_key="pay-form", now=timezone.now())


def test_the_order_row_is_not_locked_while_the_gateway_is_asked(order, oneoff):  # noqa: F811
    from django.db import transaction

    def lock_order_without_waiting():
        with transaction.atomic():
            return Order.objects.select_for_update(nowait=True).get(pk=order.pk).pk

    seen = []
    oneoff.during_start = lambda payment: seen.append(
        from_another_connection(lock_order_without_waiting))

    order_pay(order=order, gateway="oneoff", return_url=RETURN_URL, now=timezone.now())

    assert seen == [{"result": order.pk}]


def test_a_confirmation_during_the_gateway_call_is_kept_and_the_pay_page_refused(
        order, oneoff):  # noqa: F811
    from simdesk.core.errors import Conflict
    from simdesk.orders.models import OrderStatus

    # Given the order is confirmed (say, by an earlier attempt's webhook) from another
    # connection while the gateway prepares the new attempt's page
    now = timezone.now()
    seen = []
    oneoff.during_start = lambda payment: seen.append(from_another_connection(
        lambda: order_payment_confirmed(order=order, now=now).status))

    # Then the confirmation goes through at once and the customer is not sent to pay
    with pytest.raises(Conflict, match="already paid"):
        order_pay(order=order, gateway="oneoff", return_url=RETURN_URL, now=now)

    assert seen == [{"result": OrderStatus.FULFILLED}]
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert order.period is not None


def test_six_submits_of_one_pay_form_at_once_make_one_payment_and_one_gateway_call(
        order, oneoff):  # noqa: F811
    import time

    from simdesk.payments.models import Payment

    oneoff.during_start = lambda payment: time.sleep(0.3)  # a gateway taking its time

    results, errors = race([lambda: order_pay(order=order, gateway="oneoff",
                                              return_url=RETURN_URL, now=timezone.now())] * 6)

    assert errors == []
    assert len(set(results)) == 1
    assert Payment.objects.count() == 1
    assert len(oneoff.calls) == 1
    order.refresh_from_db()
    assert order.payment_attempts == 1
