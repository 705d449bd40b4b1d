"""Races that only a real database shows: two submits of one Buy form, and two customers
paying for new eSIMs at the same moment."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from simdesk.orders.models import Order
from simdesk.orders.services import order_create, order_mark_paid, order_payment_confirmed

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
