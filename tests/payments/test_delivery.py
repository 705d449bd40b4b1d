"""The sandbox's webhook outbox: delivery at once, retries with backoff, duplicates."""

from datetime import timedelta

import pytest
import time_machine

from simdesk.payments.gateways.sandbox.models import SandboxDeliveryStatus, SandboxWebhookDelivery
from simdesk.payments.gateways.sandbox.services import sandbox_delivery_attempt
from simdesk.payments.gateways.sandbox.transport import (
    DjangoClientTransport,
    TransportError,
    WebhookTransport,
)
from simdesk.payments.models import InboundWebhookEvent, PaymentStatus

pytestmark = pytest.mark.django_db


class RefusingTransport(WebhookTransport):
    """A simdesk that is down: no answer at all."""

    calls = 0

    def post(self, **kwargs) -> int:
        RefusingTransport.calls += 1
        raise TransportError("connection refused")


class ErrorTransport(WebhookTransport):
    """A simdesk that answers 503."""

    def post(self, **kwargs) -> int:
        return 503


@pytest.fixture
def pay(start, client, django_capture_on_commit_callbacks):
    def pay_now(**kwargs):
        payment, url = start(**kwargs)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(url, {"action": "pay", "card_number": "4242424242424242"})
        payment.refresh_from_db()
        return payment

    return pay_now


def test_it_retries_with_backoff_until_simdesk_answers(pay, settings,
                                                       django_capture_on_commit_callbacks):
    # given simdesk answers 503 when the payment is made
    settings.SANDBOX_WEBHOOK_TRANSPORT = "tests.payments.test_delivery.ErrorTransport"
    payment = pay()
    delivery = SandboxWebhookDelivery.objects.get()
    # then the at-once attempt got 503, the background job found the copy not yet due,
    # and the copy waits for its next attempt
    assert payment.status == PaymentStatus.PENDING
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 503)
    first_retry = delivery.next_attempt_at
    # a sweep before the retry time sends nothing
    from simdesk.payments.tasks import sandbox_webhook_deliveries_sweep

    assert sandbox_webhook_deliveries_sweep.call() == 0
    # when it fails again at the retry time, the next wait is longer
    with time_machine.travel(first_retry, tick=False):
        assert sandbox_webhook_deliveries_sweep.call() == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.next_attempt_at - first_retry > first_retry - delivery.created_at
    # when simdesk is back, the sweep delivers it and the payment succeeds
    settings.SANDBOX_WEBHOOK_TRANSPORT = (
        "simdesk.payments.gateways.sandbox.transport.DjangoClientTransport")
    with time_machine.travel(delivery.next_attempt_at, tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert sandbox_webhook_deliveries_sweep.call() == 1
    delivery.refresh_from_db()
    payment.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    assert payment.status == PaymentStatus.SUCCEEDED


def test_it_gives_up_after_the_last_attempt(pay, settings):
    settings.SANDBOX_WEBHOOK_TRANSPORT = "tests.payments.test_delivery.RefusingTransport"
    pay()
    delivery = SandboxWebhookDelivery.objects.get()
    for _ in range(20):
        delivery.refresh_from_db()
        if delivery.status != SandboxDeliveryStatus.PENDING:
            break
        sandbox_delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    assert (delivery.status, delivery.attempts) == ("gave_up", 10)
    assert "connection refused" in delivery.last_error


def test_it_sends_a_copy_once_even_when_two_senders_try(pay, settings, now):
    settings.SANDBOX_WEBHOOK_TRANSPORT = "tests.payments.test_delivery.RefusingTransport"
    pay()
    delivery = SandboxWebhookDelivery.objects.get()
    # given a sender holds the claim (it is sending right now)
    SandboxWebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=now, claimed_until=now + timedelta(seconds=60))
    RefusingTransport.calls = 0
    # then another sender does not send the same copy
    assert sandbox_delivery_attempt(delivery_id=delivery.pk, now=now) is False
    assert RefusingTransport.calls == 0


def test_it_never_sends_a_delivered_copy_again(pay):
    pay()
    delivery = SandboxWebhookDelivery.objects.get()
    assert delivery.status == "delivered"
    assert sandbox_delivery_attempt(delivery_id=delivery.pk,
                                    now=delivery.delivered_at + timedelta(hours=1)) is False


def test_it_delivers_every_event_twice_when_asked_and_simdesk_processes_it_once(
        pay, settings, received):
    # given the test switch: every event delivered twice
    settings.SANDBOX_DUPLICATE_DELIVERY = 1.0
    payment = pay()
    # then both copies were delivered, with the same event id, and processed once
    copies = list(SandboxWebhookDelivery.objects.order_by("copy"))
    assert [(c.copy, c.status) for c in copies] == [(0, "delivered"), (1, "delivered")]
    assert copies[0].event_id == copies[1].event_id
    assert InboundWebhookEvent.objects.count() == 1
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_succeeded", payment.pk)]


def test_it_delivers_through_the_background_job_when_not_at_once(pay, settings):
    # the ImmediateBackend of the tests runs the enqueued job inline
    settings.SANDBOX_WEBHOOK_DELIVER_AT_ONCE = False
    payment = pay()
    assert SandboxWebhookDelivery.objects.get().status == "delivered"
    assert payment.status == PaymentStatus.SUCCEEDED


def test_it_signs_what_it_sends(pay, settings):
    captured = {}

    class Capture(DjangoClientTransport):
        def post(self, *, url, body, headers, timeout):
            captured.update(url=url, body=body, headers=headers)
            return super().post(url=url, body=body, headers=headers, timeout=timeout)

    import sys

    sys.modules[__name__].Capture = Capture
    settings.SANDBOX_WEBHOOK_TRANSPORT = f"{__name__}.Capture"
    pay()
    assert captured["url"] == f"{settings.SITE_URL}/webhooks/sandbox/"
    from simdesk.core.clock import utcnow
    from simdesk.payments.gateways.sandbox.signing import verify

    verify(header=captured["headers"]["Sandbox-Signature"], body=captured["body"],
           now=utcnow())


def test_it_queues_the_retry_for_its_backoff_time_where_the_backend_can_wait(pay, settings):
    # given a task backend that can defer jobs (like the database one) and simdesk down
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    settings.SANDBOX_WEBHOOK_TRANSPORT = "tests.payments.test_delivery.RefusingTransport"
    from django_tasks import default_task_backend

    from simdesk.payments.tasks import sandbox_webhook_deliver

    pay()
    delivery = SandboxWebhookDelivery.objects.get()
    # then the at-once attempt failed and one job waits for the copy's next attempt time
    [job] = default_task_backend.results
    assert job.task.run_after == delivery.next_attempt_at
    assert job.kwargs == {"delivery_id": delivery.pk}
    # when that job runs and fails again, it queues exactly one next job, later
    with time_machine.travel(delivery.next_attempt_at, tick=False):
        assert sandbox_webhook_deliver.call(delivery_id=delivery.pk) == "failed"
        # a second job for the same copy at the same time sends nothing and queues nothing
        assert sandbox_webhook_deliver.call(delivery_id=delivery.pk) == "skipped"
    delivery.refresh_from_db()
    assert len(default_task_backend.results) == 2
    assert default_task_backend.results[1].task.run_after == delivery.next_attempt_at
