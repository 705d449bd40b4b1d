"""Pay pressed in five tabs at the same moment: one confirmation reaches Stripe.

Threads with their own database connections race through the confirm view on
PostgreSQL (SQLite serialises writers, so the race only means something there).
"""

import threading

import pytest
from django.db import connection
from django.test import Client

from simdesk.payments.models import PaymentStatus

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_five_tabs_paying_at_once_confirm_once(begin, alice, stripe, received):
    payment, url = begin()
    methods = [stripe.payment_method() for _ in range(5)]  # a card typed in each tab
    barrier = threading.Barrier(len(methods))
    answers, errors = [], []

    def press_pay(method):
        try:
            client = Client()
            client.force_login(alice)
            barrier.wait(timeout=10)
            answers.append(client.post(f"{url}/confirm", {"payment_method": method}).json())
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=press_pay, args=(m,)) for m in methods]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert [a["status"] for a in answers] == ["succeeded"] * 5
    assert len([r for r in stripe.requests() if r["path"].endswith("/confirm")]) == 1
    assert len(stripe.intents()) == 1
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED and payment.history.count() == 1
    assert received == [("payment_succeeded", payment.pk)]
