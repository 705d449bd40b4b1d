"""The same Idempotency-Key sent several times at once over HTTP makes one order."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from simdesk.accounts.tokens import token_create
from simdesk.orders.models import Order
from tests.orders.conftest import card, make_card, make_plan, plan  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_it_opens_one_order_for_concurrent_requests_with_one_key(alice, card, plan, now):  # noqa: F811
    _token, plaintext = token_create(user=alice, name="script", now=now)
    body = json.dumps({"plan": plan.code, "card": str(card.public_id), "currency": "USD"})
    start = threading.Barrier(6)
    answers, errors = [], []

    def submit():
        try:
            client = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
            start.wait()
            response = client.post("/api/v1/orders", body, content_type="application/json",
                                   HTTP_IDEMPOTENCY_KEY="retry-storm")
            answers.append((response.status_code, response.json()["id"]))
        except Exception as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(answers) == 6
    assert {status for status, _id in answers} <= {200, 201}
    assert len({order_id for _status, order_id in answers}) == 1
    assert Order.objects.count() == 1
