"""Ten deliveries of one payment's success at the same moment: one processing, one signal.

Threads with their own database connections race through the whole HTTP path on
PostgreSQL (SQLite serialises writers, so the race only means something there).
"""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from simdesk.payments.models import InboundWebhookEvent, PaymentStatus, WebhookStatus

from .conftest import sandbox_event, signed_post

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(bodies: list[bytes]) -> list[int]:
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def deliver(body):
        try:
            client = Client()
            barrier.wait(timeout=10)
            statuses.append(signed_post(client, body).status_code)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return statuses


def test_it_processes_ten_concurrent_deliveries_of_one_event_once(start, received):
    # given a started payment and one success event
    payment, _url = start()
    body = json.dumps(sandbox_event(payment, event_id="evt_raced")).encode()
    # when ten copies arrive at the same moment
    statuses = _race([body] * 10)
    # then all are answered 200, the event is stored and processed once, one signal
    assert statuses == [200] * 10
    event = InboundWebhookEvent.objects.get()
    assert (event.status, event.attempts) == (WebhookStatus.PROCESSED, 1)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.history.count() == 1
    assert received == [("payment_succeeded", payment.pk)]


def test_it_moves_a_payment_once_when_ten_different_events_say_it_succeeded(start, received):
    # given ten distinct success events about one payment (e.g. webhook plus retries)
    payment, _url = start()
    bodies = [json.dumps(sandbox_event(payment, event_id=f"evt_{i}")).encode()
              for i in range(10)]
    statuses = _race(bodies)
    # then each is stored and processed, but the payment moves and signals once
    assert statuses == [200] * 10
    assert InboundWebhookEvent.objects.filter(status=WebhookStatus.PROCESSED).count() == 10
    payment.refresh_from_db()
    assert payment.history.count() == 1
    assert received == [("payment_succeeded", payment.pk)]


def _together(n: int, work) -> tuple[list, list[BaseException]]:
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run(i):
        try:
            barrier.wait(timeout=10)
            results.append(work(i))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results, errors


def test_it_starts_one_payment_when_one_key_is_started_ten_times_at_once(start):
    from simdesk.payments.gateways.sandbox.models import SandboxCharge
    from simdesk.payments.models import Payment

    results, errors = _together(10, lambda i: start("order-same"))
    assert not errors, errors
    assert len({payment.pk for payment, _url in results}) == 1
    assert len({url for _payment, url in results}) == 1
    assert Payment.objects.count() == 1 and SandboxCharge.objects.count() == 1


def test_it_never_refunds_more_than_was_paid_when_refunds_race(start, client, now):
    from simdesk.core.errors import Conflict
    from simdesk.payments.models import Payment
    from simdesk.payments.services import payment_refund

    # given a paid payment of 10.00
    payment, url = start(amount_minor=1000)
    client.post(url, {"action": "pay", "card_number": "4242424242424242"})
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    # when five refunds of 6.00 are asked at the same moment
    results, errors = _together(5, lambda i: payment_refund(
        payment=payment, amount_minor=600, idempotency_key=f"rf-{i}", now=now))
    # then one is made and the others are refused
    assert len(results) == 1
    assert len(errors) == 4 and all(isinstance(e, Conflict) for e in errors)
    assert Payment.objects.get(pk=payment.pk).refunded_minor == 600
