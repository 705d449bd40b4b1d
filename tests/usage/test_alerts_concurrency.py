"""Several workers checking one card at the same moment send each alert once."""

import threading

import pytest
from django.db import connection

from simdesk.notifications.models import Notification
from simdesk.usage.alerts import alerts_check_card
from simdesk.usage.models import AlertSent

from .conftest import days


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_sends_each_alert_once_when_workers_check_one_card_at_once(japan_card, use, now):
    # given alice used 9 of 10 GB and her period ends within 3 days
    use(japan_card, 9)
    at = now + days(27.5)
    workers = 8
    start = threading.Barrier(workers)
    errors, sent = [], []

    def worker():
        try:
            start.wait()
            sent.extend(alerts_check_card(card=japan_card, now=at))
        except Exception as error:  # surfaced below; a thread cannot fail the test itself
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then between them they sent one usage alert and one expiry alert
    assert errors == []
    assert sorted((a.kind, a.threshold) for a in sent) == [("expiry", 3), ("usage", 80)]
    assert sorted(Notification.objects.values_list("kind", flat=True)) == [
        "expiry_alert", "usage_alert"]
    assert AlertSent.objects.count() == 2
