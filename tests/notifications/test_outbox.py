"""The outbox: queued once, sent once, retried with backoff, never sent for a rolled back change."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import transaction

from simdesk.notifications.models import Notification, NotificationStatus
from simdesk.notifications.selectors import notifications_due
from simdesk.notifications.services import (
    MAX_ATTEMPTS,
    notification_claim,
    notification_retry,
    notification_send,
    retry_delay,
)
from simdesk.notifications.tasks import notifications_retry_sweep

from .conftest import receipt

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing_mail(monkeypatch):
    """The e-mail backend fails (say the SMTP server is down) until ``recover()``."""

    class Switch:
        down = True

        def recover(self):
            self.down = False

    switch = Switch()
    original = EmailBackend.send_messages

    def send_messages(self, messages):
        if switch.down:
            raise ConnectionRefusedError("SMTP server unreachable")
        return original(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", send_messages)
    return switch


def queue_receipt(user, now, *, dedupe_key="order:1"):
    """Queue without running the on-commit send (as if the worker had not got to it)."""
    from simdesk.notifications.messages import notify_order_receipt

    return notify_order_receipt(user=user, receipt=receipt(), dedupe_key=dedupe_key, now=now)


def test_it_sends_a_queued_message_once_and_marks_it_sent(alice, now, send_receipt):
    notification = send_receipt(alice)

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert notification.attempts == 1
    assert notification.sent_at is not None
    assert len(mail.outbox) == 1


def test_it_queues_the_same_message_once_by_its_dedupe_key(alice, now, send_receipt):
    first = send_receipt(alice, dedupe_key="order:42")
    second = send_receipt(alice, dedupe_key="order:42")

    assert first.pk == second.pk
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1


def test_it_keeps_different_messages_with_the_same_key_apart(
        alice, send_receipt, send_payment_failed):
    # Callers may key both by the order; the kind keeps them distinct.
    send_receipt(alice, dedupe_key="order:7")
    send_payment_failed(alice, dedupe_key="order:7")

    assert Notification.objects.count() == 2
    assert len(mail.outbox) == 2


def test_it_lets_only_one_of_two_claims_send(alice, now):
    # Given a queued message two workers both picked up
    notification = queue_receipt(alice, now)

    first = notification_claim(notification_id=notification.pk, now=now)
    second = notification_claim(notification_id=notification.pk, now=now)

    assert (first, second) == (True, False)


def test_it_sends_once_when_two_workers_run_the_same_task(alice, now):
    notification = queue_receipt(alice, now)

    sent = [notification_send(notification_id=notification.pk, now=now) for _ in range(2)]

    assert sent == [True, False]
    assert len(mail.outbox) == 1


def test_it_sends_nothing_when_the_transaction_rolls_back(
        alice, now, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                queue_receipt(alice, now)
                raise RuntimeError("the order failed after queuing its receipt")
        except RuntimeError:
            pass

    assert callbacks == []
    assert Notification.objects.count() == 0
    assert mail.outbox == []


def test_it_retries_after_a_failing_backend_then_succeeds(alice, now, failing_mail):
    # Given the mail server is down when the receipt is first sent
    notification = queue_receipt(alice, now)
    assert notification_send(notification_id=notification.pk, now=now) is False

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    assert notification.attempts == 1
    assert "SMTP server unreachable" in notification.last_error
    assert notification.next_attempt_at == now + retry_delay(1)

    # When it is tried again too early, nothing happens
    assert notification_send(notification_id=notification.pk, now=now + timedelta(seconds=5)) \
        is False
    notification.refresh_from_db()
    assert notification.attempts == 1

    # When the server is back and the backoff has passed, it goes out
    failing_mail.recover()
    later = notification.next_attempt_at
    assert notification_send(notification_id=notification.pk, now=later) is True

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert notification.attempts == 2
    assert notification.last_error == ""
    assert len(mail.outbox) == 1


def test_it_backs_off_longer_after_each_failure():
    delays = [retry_delay(n) for n in range(1, MAX_ATTEMPTS + 3)]

    assert delays == sorted(delays)
    assert delays[0] == timedelta(minutes=1)
    assert delays[-1] == timedelta(hours=6)


def test_it_gives_up_after_the_last_attempt(alice, now, failing_mail):
    notification = queue_receipt(alice, now)
    when = now
    for _ in range(MAX_ATTEMPTS):
        assert notification_send(notification_id=notification.pk, now=when) is False
        notification.refresh_from_db()
        when = notification.next_attempt_at or when

    assert notification.attempts == MAX_ATTEMPTS
    assert notification.gave_up
    assert not notifications_due(now=now + timedelta(days=30)).exists()


def test_staff_can_offer_a_given_up_message_again(alice, now, failing_mail,
                                                  django_capture_on_commit_callbacks):
    notification = queue_receipt(alice, now)
    notification_send(notification_id=notification.pk, now=now)
    failing_mail.recover()

    with django_capture_on_commit_callbacks(execute=True):
        assert notification_retry(notification=notification, now=now) is True

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert len(mail.outbox) == 1


def test_the_sweep_sends_due_messages_whose_task_was_lost(alice, now, time_machine):
    # Given a message queued but whose task never ran (a worker lost it)
    notification = queue_receipt(alice, now)
    time_machine.move_to(now + timedelta(minutes=1))

    # When the clock's sweep runs (tasks run inline in tests)
    assert notifications_retry_sweep.call() == 1

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert len(mail.outbox) == 1
    # And a second sweep finds nothing left to do
    assert notifications_retry_sweep.call() == 0


def test_the_sweep_picks_up_a_message_left_sending_by_a_stopped_worker(alice, now):
    notification = queue_receipt(alice, now)
    assert notification_claim(notification_id=notification.pk, now=now)  # then it died

    assert not notifications_due(now=now + timedelta(minutes=5)).exists()
    assert notifications_due(now=now + timedelta(minutes=16)).filter(pk=notification.pk).exists()
    assert notification_send(notification_id=notification.pk,
                             now=now + timedelta(minutes=16)) is True
    assert len(mail.outbox) == 1
