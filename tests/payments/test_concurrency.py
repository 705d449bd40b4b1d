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
