"""Two workers renewing the same card at the same moment charge it once (PostgreSQL)."""

import threading

import pytest
from django.db import connection

from simdesk.payments.gateways.sandbox.models import SandboxCharge
from simdesk.payments.models import Payment
from simdesk.renewals.models import AttemptStatus, RenewalAttempt
from simdesk.renewals.services import renewal_attempt

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_workers_renewing_the_same_card_at_once_charge_it_once(
        card, current_period, renewing, now):
    # Given a card due for renewal
    renewing()
    barrier = threading.Barrier(4)
    errors = []

    def worker():
        try:
            barrier.wait()
            renewal_attempt(card=card, now=now)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    # When four workers run the renewal at the same moment
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then exactly one charge was made and one period was added
    assert errors == []
    assert Payment.objects.count() == 1
    assert SandboxCharge.objects.count() == 1
    assert RenewalAttempt.objects.get().status == AttemptStatus.SUCCEEDED
    assert card.periods.count() == 2
