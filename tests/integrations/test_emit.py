"""event_emit: one event per fact, one delivery per subscribed active endpoint."""

import pytest

from simdesk.integrations.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from simdesk.integrations.services import event_emit

pytestmark = pytest.mark.django_db


def test_it_writes_nothing_when_no_endpoint_subscribes(now, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        assert event_emit(type="order.paid", data={}, dedupe_key="k", now=now) is None
    assert not WebhookEvent.objects.exists()


def test_it_records_one_event_and_one_delivery_per_subscribed_endpoint(now):
    everything = WebhookEndpoint.objects.create(url="http://127.0.0.1:9/a")
    orders = WebhookEndpoint.objects.create(url="http://127.0.0.1:9/b", event_types=["order.paid"])
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/c", event_types=["card.suspended"])
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/d", active=False)

    event = event_emit(type="order.paid", data={"order": "x"}, dedupe_key="order.paid:x", now=now)
    again = event_emit(type="order.paid", data={"order": "x"}, dedupe_key="order.paid:x", now=now)

    assert again == event and event.event_id.startswith("evt_")
    deliveries = WebhookDelivery.objects.filter(event=event)
    assert {d.endpoint for d in deliveries} == {everything, orders}
    assert {d.status for d in deliveries} == {DeliveryStatus.PENDING}
