"""event_emit: one event per fact, one delivery per subscribed active endpoint, nothing
written (and at most one cached read) when nobody listens."""

import pytest
from django.db import transaction

from simdesk.integrations.models import (
    DeliveryStatus,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from simdesk.integrations.services import endpoint_set_active, event_emit

pytestmark = pytest.mark.django_db


def emit(now, key="order.paid:o1", type=EventType.ORDER_PAID, data=None):
    return event_emit(type=type, data=data or {"order": "o1"}, dedupe_key=key, now=now)


def test_it_writes_nothing_when_no_endpoint_is_registered(now, django_assert_num_queries):
    with django_assert_num_queries(1):  # the subscriptions, read once then cached
        assert emit(now) is None
    with django_assert_num_queries(0):
        assert emit(now, key="order.paid:o2") is None
    assert not WebhookEvent.objects.exists()


def test_it_writes_nothing_when_no_active_endpoint_wants_the_type(make_endpoint, now):
    make_endpoint(event_types=["card.suspended"])
    make_endpoint(active=False)

    assert emit(now) is None

    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()


def test_it_records_one_delivery_per_active_endpoint_that_subscribes(make_endpoint, now):
    everything = make_endpoint()
    orders_only = make_endpoint(event_types=["order.paid", "renewal.failed"])
    make_endpoint(event_types=["card.suspended"])
    make_endpoint(active=False)

    event = emit(now, data={"order": "o1", "total_minor": 1200})

    assert event.type == "order.paid" and event.data == {"order": "o1", "total_minor": 1200}
    assert event.created_at == now
    deliveries = WebhookDelivery.objects.filter(event=event)
    assert {d.endpoint for d in deliveries} == {everything, orders_only}
    assert {(d.status, d.attempts, d.next_attempt_at) for d in deliveries} == {
        (DeliveryStatus.PENDING, 0, now)}


def test_it_records_the_same_fact_once(endpoint, now):
    first = emit(now, key="order.paid:o1")
    second = emit(now, key="order.paid:o1", data={"order": "changed"})

    assert second.pk == first.pk and second.data == {"order": "o1"}
    assert WebhookEvent.objects.count() == 1 and WebhookDelivery.objects.count() == 1


def test_it_gives_every_event_its_own_opaque_id(endpoint, now):
    ids = [emit(now, key=f"order.paid:o{i}").event_id for i in range(50)]

    assert len(set(ids)) == 50
    assert all(i.startswith("evt_") and len(i) == 36 for i in ids)


def test_it_refuses_an_unknown_type(now):
    with pytest.raises(ValueError, match="unknown webhook event type"):
        event_emit(type="order.eaten", data={}, dedupe_key="x", now=now)


def test_it_sees_an_endpoint_registered_after_it_cached_that_nobody_listens(make_endpoint, now):
    assert emit(now, key="order.paid:before") is None  # "nobody" is now cached

    make_endpoint()

    assert emit(now, key="order.paid:after") is not None


def test_it_stops_at_once_for_an_endpoint_switched_off(endpoint, now):
    assert emit(now, key="order.paid:before") is not None

    endpoint_set_active(endpoint=endpoint, active=False, now=now)

    assert emit(now, key="order.paid:after") is None
    assert WebhookDelivery.objects.count() == 1


def test_it_leaves_nothing_when_the_callers_transaction_rolls_back(
        endpoint, receiver, now, django_capture_on_commit_callbacks):
    class Abort(Exception):
        pass

    with (django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Abort),
          transaction.atomic()):
        emit(now)
        raise Abort

    assert callbacks == [] and receiver.requests == []
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()


def test_it_sends_after_the_callers_transaction_commits(
        endpoint, receiver, now, django_capture_on_commit_callbacks, time_machine):
    time_machine.move_to(now, tick=False)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = emit(now)
        assert receiver.requests == []

    assert [r.json["id"] for r in receiver.requests] == [event.event_id]
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SUCCEEDED


def test_it_accepts_an_endpoint_created_with_the_model_api(now):
    endpoint = WebhookEndpoint.objects.create(url="https://example.com/hooks")

    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
    assert endpoint.wants("period.expired") and endpoint.active
