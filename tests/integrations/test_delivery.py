"""Sending a delivery: signed POST to a real local receiver, 2xx is success, anything else
is retried on the backoff schedule until it is given up; a lease keeps two workers from
sending the same attempt."""

import json
from datetime import timedelta

import pytest

from simdesk.integrations.models import DeliveryStatus, EventType, WebhookAttempt, WebhookDelivery
from simdesk.integrations.services import (
    ENQUEUE_LEASE,
    LEASE,
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    delivery_claim,
    delivery_retry,
    delivery_send,
    event_emit,
)
from simdesk.integrations.tasks import webhook_deliveries_sweep

pytestmark = pytest.mark.django_db


def recorded(now, key="order.paid:o1"):
    """An order.paid event is recorded; its single delivery's task is not run (as if lost)."""
    event = event_emit(type=EventType.ORDER_PAID, dedupe_key=key, now=now,
                       data={"order": "2b0c3f9e-0000-4000-8000-000000000001",
                             "total_minor": 1200, "currency": "USD",
                             "paid_at": now.isoformat()})
    return event, WebhookDelivery.objects.get(event=event)


def test_it_posts_the_event_signed_so_the_receiver_can_verify_it(endpoint, receiver, now):
    event, delivery = recorded(now)
    receiver.tolerance_now = now.timestamp()

    assert delivery_send(delivery_id=delivery.pk, now=now) is True

    [request] = receiver.requests
    assert request.signature_ok, request.signature_error
    assert request.headers["Simdesk-Event-Id"] == event.event_id
    assert request.headers["Simdesk-Event-Type"] == "order.paid"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Simdesk-Signature"].startswith(f"t={int(now.timestamp())},v1=")
    assert request.json == {"id": event.event_id, "type": "order.paid",
                            "created": "2026-06-01T12:00:00+00:00", "data": event.data}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.delivered_at,
            delivery.next_attempt_at, delivery.leased_until) == (
        DeliveryStatus.SUCCEEDED, 1, now, None, None)
    [attempt] = delivery.attempt_results.all()
    assert (attempt.number, attempt.http_status, attempt.error, attempt.at) == (1, 200, "", now)
    assert json.loads(attempt.response_excerpt) == {"received": True}


def test_a_receiver_with_another_secret_or_a_changed_body_refuses_it(make_endpoint, receiver,
                                                                     now):
    endpoint = make_endpoint()
    receiver.secret = "whsec_someone-else"
    receiver.tolerance_now = now.timestamp()
    _event, delivery = recorded(now)

    delivery_send(delivery_id=delivery.pk, now=now)

    assert not receiver.requests[0].signature_ok
    assert receiver.requests[0].signature_error == "signature does not match"
    assert endpoint.secret != receiver.secret


def test_a_receiver_refuses_a_delivery_signed_outside_its_tolerance(endpoint, receiver, now):
    _event, delivery = recorded(now)
    receiver.tolerance_now = (now + timedelta(minutes=6)).timestamp()

    delivery_send(delivery_id=delivery.pk, now=now)

    assert receiver.requests[0].signature_error == "timestamp outside the tolerance"


def test_it_retries_a_500_on_the_backoff_schedule_then_gives_up(endpoint, receiver, now):
    receiver.status = 500
    _event, delivery = recorded(now)
    at = now
    expected_waits = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
                      timedelta(hours=2), timedelta(hours=6), timedelta(hours=24)]
    assert list(RETRY_DELAYS) == expected_waits and MAX_ATTEMPTS == 7

    for number, wait in enumerate(expected_waits, start=1):
        receiver.tolerance_now = at.timestamp()
        assert delivery_send(delivery_id=delivery.pk, now=at) is False
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
            DeliveryStatus.FAILED, number, at + wait)
        # Not before its time: a send a second early does nothing.
        assert delivery_send(delivery_id=delivery.pk, now=at + wait - timedelta(seconds=1)) \
            is False
        assert len(receiver.requests) == number
        at += wait

    receiver.tolerance_now = at.timestamp()
    assert delivery_send(delivery_id=delivery.pk, now=at) is False  # the 7th and last try

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
        DeliveryStatus.GIVEN_UP, 7, None)
    assert delivery_send(delivery_id=delivery.pk, now=at + timedelta(days=30)) is False
    assert len(receiver.requests) == 7
    assert all(r.signature_ok for r in receiver.requests)
    assert len({r.headers["Simdesk-Event-Id"] for r in receiver.requests}) == 1
    assert list(delivery.attempt_results.order_by("number").values_list(
        "number", "http_status")) == [(n, 500) for n in range(1, 8)]


def test_it_retries_when_the_connection_is_refused_and_records_the_error(
        make_endpoint, closed_port_url, now):
    make_endpoint(url=closed_port_url)
    _event, delivery = recorded(now)

    assert delivery_send(delivery_id=delivery.pk, now=now) is False

    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at) == (DeliveryStatus.FAILED,
                                                           now + timedelta(minutes=1))
    [attempt] = delivery.attempt_results.all()
    assert attempt.http_status is None and "refused" in attempt.error.lower()


def test_it_succeeds_on_a_later_try_once_the_receiver_recovers(endpoint, receiver, now):
    receiver.statuses = [503, 502]
    _event, delivery = recorded(now)
    receiver.tolerance_now = None

    delivery_send(delivery_id=delivery.pk, now=now)
    delivery_send(delivery_id=delivery.pk, now=now + timedelta(minutes=1))
    assert delivery_send(delivery_id=delivery.pk, now=now + timedelta(minutes=6)) is True

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 3)
    assert [r.http_status for r in delivery.attempt_results.order_by("number")] == [503, 502,
                                                                                    200]


@pytest.mark.parametrize("status", [301, 400, 404, 410])
def test_any_answer_other_than_2xx_is_a_failure(endpoint, receiver, now, status):
    receiver.status = status
    _event, delivery = recorded(now)

    assert delivery_send(delivery_id=delivery.pk, now=now) is False

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert len(receiver.requests) == 1  # a redirect is not followed


def test_the_sweep_sends_deliveries_whose_task_was_lost_and_retries_due_ones(
        endpoint, receiver, now, time_machine):
    receiver.statuses = [500]
    recorded(now, key="order.paid:o1")
    recorded(now, key="order.paid:o2")
    # Their send tasks were handed out on commit: the sweep trusts them for a while.
    time_machine.move_to(now + ENQUEUE_LEASE - timedelta(seconds=1), tick=False)
    assert webhook_deliveries_sweep.call() == 0

    # When the tasks were lost, the sweep enqueues new ones (tasks run inline in the tests).
    lost_at = now + ENQUEUE_LEASE
    time_machine.move_to(lost_at, tick=False)
    assert webhook_deliveries_sweep.call() == 2

    statuses = sorted(WebhookDelivery.objects.values_list("status", flat=True))
    assert statuses == [DeliveryStatus.FAILED, DeliveryStatus.SUCCEEDED]
    assert webhook_deliveries_sweep.call() == 0  # the failed one waits for its backoff

    time_machine.move_to(lost_at + timedelta(minutes=1), tick=False)
    assert webhook_deliveries_sweep.call() == 1
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {
        DeliveryStatus.SUCCEEDED}
    assert len(receiver.requests) == 3


def test_the_sweep_does_not_enqueue_again_what_waits_in_a_backlog(endpoint, now):
    from simdesk.integrations.selectors import deliveries_due
    from simdesk.integrations.services import deliveries_mark_enqueued

    _event, delivery = recorded(now)
    later = now + ENQUEUE_LEASE
    assert list(deliveries_due(now=later)) == [delivery]

    deliveries_mark_enqueued(delivery_ids=[delivery.pk], now=later)  # as the sweep does

    assert list(deliveries_due(now=later + timedelta(minutes=1))) == []
    assert list(deliveries_due(now=later + ENQUEUE_LEASE)) == [delivery]


def test_two_workers_never_send_the_same_attempt(endpoint, receiver, now):
    _event, delivery = recorded(now)

    assert delivery_claim(delivery_id=delivery.pk, now=now) == 1
    # A second worker (or the sweep's task) finds it leased and sends nothing.
    assert delivery_send(delivery_id=delivery.pk, now=now + timedelta(seconds=30)) is False
    assert receiver.requests == []


def test_a_lease_left_by_a_stopped_worker_runs_out_and_the_delivery_is_sent(
        endpoint, receiver, now):
    _event, delivery = recorded(now)
    assert delivery_claim(delivery_id=delivery.pk, now=now) == 1  # and the worker died

    later = now + LEASE
    assert delivery_send(delivery_id=delivery.pk, now=later) is True

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 2)
    assert len(receiver.requests) == 1


def test_a_worker_that_overran_its_lease_cannot_overwrite_the_later_attempt(
        endpoint, receiver, now):
    from simdesk.integrations.services import _attempt_record

    _event, delivery = recorded(now)
    assert delivery_claim(delivery_id=delivery.pk, now=now) == 1
    assert delivery_send(delivery_id=delivery.pk, now=now + LEASE) is True  # attempt 2

    # The first worker finally comes back with a failure for attempt 1.
    _attempt_record(delivery=delivery, number=1, now=now + LEASE, succeeded=False,
                    http_status=None, excerpt="", error="timed out", duration_ms=5000)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert set(WebhookAttempt.objects.values_list("number", flat=True)) == {1, 2}


def test_staff_can_try_a_given_up_delivery_again_with_a_fresh_schedule(
        endpoint, receiver, now, django_capture_on_commit_callbacks, time_machine):
    receiver.status = 500
    _event, delivery = recorded(now)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.GIVEN_UP,
                                                          attempts=7, next_attempt_at=None)
    delivery.refresh_from_db()
    later = now + timedelta(days=3)
    time_machine.move_to(later, tick=False)

    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_retry(delivery=delivery, now=later) is True

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.round_start) == (
        DeliveryStatus.FAILED, 8, 7)
    assert delivery.next_attempt_at == later + timedelta(minutes=1)
    assert delivery_retry(delivery=delivery, now=later) is True  # failed: may retry again
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING


def test_staff_retry_leaves_a_delivered_one_alone(endpoint, receiver, now):
    _event, delivery = recorded(now)
    delivery_send(delivery_id=delivery.pk, now=now)

    assert delivery_retry(delivery=delivery, now=now) is False


def test_the_clock_runs_the_sweep_every_minute():
    from django.utils.module_loading import import_string

    from config.schedule import SCHEDULE

    [sweep] = [s for s in SCHEDULE if s.name == "webhook-deliveries"]
    assert import_string(sweep.task) is webhook_deliveries_sweep
    assert sweep.every.total_seconds() == 60
