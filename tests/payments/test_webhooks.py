"""The inbound webhook endpoint: verify → store → process → answer."""

import json
import time

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from simdesk.payments.models import InboundWebhookEvent, Payment, PaymentStatus, WebhookStatus

from .conftest import sandbox_event, signed_post

pytestmark = pytest.mark.django_db


def test_it_accepts_a_signed_event_and_marks_the_payment_paid(start, post_event, received,
                                                              django_capture_on_commit_callbacks):
    # given a payment started at the sandbox
    payment, _url = start()
    # when the sandbox reports its success
    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(sandbox_event(payment, event_id="evt_1"))
    # then it is stored, processed, the payment is paid and orders are told once
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False, "event": "evt_1",
                               "status": "processed"}
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.succeeded_at is not None
    assert received == [("payment_succeeded", payment.pk)]
    event = InboundWebhookEvent.objects.get()
    assert (event.status, event.attempts, event.gateway_payment_id) == (
        WebhookStatus.PROCESSED, 1, payment.gateway_payment_id)
    assert list(payment.history.values_list("from_status", "to_status", "source")) == [
        ("pending", "succeeded", "webhook:evt_1")]


def test_it_processes_a_repeated_delivery_once(start, post_event, received,
                                               django_capture_on_commit_callbacks):
    # given a payment and an event the gateway delivers twice
    payment, _url = start()
    event = sandbox_event(payment, event_id="evt_twice")
    # when both copies arrive
    with django_capture_on_commit_callbacks(execute=True):
        first = post_event(event)
        second = post_event(event)
    # then both are answered 200, only the first is processed, one signal is sent
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["duplicate"] is True
    assert InboundWebhookEvent.objects.count() == 1
    assert InboundWebhookEvent.objects.get().attempts == 1
    assert received == [("payment_succeeded", payment.pk)]


def test_it_never_lets_a_late_event_undo_a_success(start, post_event, received,
                                                   django_capture_on_commit_callbacks):
    # given a paid payment
    payment, _url = start()
    with django_capture_on_commit_callbacks(execute=True):
        post_event(sandbox_event(payment, type="charge.succeeded"))
        # when older news arrives after it: pending, needs authentication, declined
        for late in ("charge.pending", "charge.requires_authentication", "charge.declined"):
            assert post_event(sandbox_event(payment, type=late)).status_code == 200
    # then the payment stays paid and only the success was signalled
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_succeeded", payment.pk)]
    assert set(InboundWebhookEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_it_lets_a_success_after_a_decline_win(start, post_event, received,
                                               django_capture_on_commit_callbacks):
    # given events that arrive out of order: the decline of an earlier try, then success
    payment, _url = start()
    with django_capture_on_commit_callbacks(execute=True):
        post_event(sandbox_event(payment, type="charge.declined", failure_code="card_declined"))
        post_event(sandbox_event(payment, type="charge.succeeded"))
    # then money was taken, so the payment is paid, and both moves were told
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_failed", payment.pk), ("payment_succeeded", payment.pk)]


def test_it_moves_through_authentication_to_success(start, post_event, received,
                                                    django_capture_on_commit_callbacks):
    payment, _url = start()
    with django_capture_on_commit_callbacks(execute=True):
        post_event(sandbox_event(payment, type="charge.requires_authentication"))
        payment.refresh_from_db()
        assert payment.status == PaymentStatus.REQUIRES_ACTION
        post_event(sandbox_event(payment, type="charge.succeeded"))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert [name for name, _pk in received] == ["payment_requires_action", "payment_succeeded"]


def test_it_records_a_decline_with_a_reason_for_the_customer(start, post_event, received,
                                                             django_capture_on_commit_callbacks):
    payment, _url = start()
    with django_capture_on_commit_callbacks(execute=True):
        post_event(sandbox_event(payment, type="charge.declined",
                                 failure_code="insufficient_funds"))
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_code == "insufficient_funds"
    assert "insufficient funds" in payment.failure_reason
    assert received == [("payment_failed", payment.pk)]


def test_it_saves_the_method_the_customer_asked_to_save(start, post_event,
                                                        django_capture_on_commit_callbacks):
    payment, _url = start(save_method=True)
    method = {"token": "sbxpm_abc", "label": "Visa •••• 4242"}
    with django_capture_on_commit_callbacks(execute=True):
        post_event(sandbox_event(payment, method=method))
        post_event(sandbox_event(payment, method=method))
    payment.refresh_from_db()
    assert payment.saved_method is not None
    assert (payment.saved_method.token, payment.saved_method.label,
            payment.saved_method.customer_id) == ("sbxpm_abc", "Visa •••• 4242",
                                                  payment.customer_id)
    assert payment.customer.payment_methods.count() == 1


def test_it_does_not_save_a_method_nobody_asked_to_save(start, post_event):
    payment, _url = start(save_method=False)
    post_event(sandbox_event(payment, method={"token": "sbxpm_x", "label": "Visa"}))
    payment.refresh_from_db()
    assert payment.saved_method is None


# --- Untrusted or unreadable input: 400, nothing stored ----------------------------------


def _nothing_changed(payment):
    payment.refresh_from_db()
    return InboundWebhookEvent.objects.count() == 0 and payment.status == PaymentStatus.PENDING


def test_it_refuses_a_wrong_signature_and_stores_nothing(start, post_event):
    payment, _url = start()
    response = post_event(sandbox_event(payment), secret=b"not the secret")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["code"]) == (400, "bad_signature")
    assert _nothing_changed(payment)


def test_it_refuses_a_body_changed_after_signing(start, client):
    payment, _url = start()
    body = json.dumps(sandbox_event(payment)).encode()
    from simdesk.payments.gateways.sandbox.signing import sign

    header = sign(body=body, timestamp=int(time.time()))
    tampered = body.replace(b"charge.succeeded", b"charge.cancelled")
    response = signed_post(client, tampered, header=header)
    assert response.status_code == 400
    assert _nothing_changed(payment)


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=deadbeef", "t=1700000000",
                                    "garbage", "t=,v1="])
def test_it_refuses_missing_or_broken_signature_headers(start, client, header):
    payment, _url = start()
    response = signed_post(client, json.dumps(sandbox_event(payment)).encode(), header=header)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_signature"
    assert _nothing_changed(payment)


def test_it_refuses_an_event_signed_outside_the_replay_window(start, post_event):
    # given an event signed six minutes ago (the window is five)
    payment, _url = start()
    response = post_event(sandbox_event(payment), timestamp=int(time.time()) - 360)
    assert response.status_code == 400
    assert "outside the tolerance" in response.json()["detail"]
    assert _nothing_changed(payment)


def test_it_refuses_an_event_signed_in_the_future(start, post_event):
    payment, _url = start()
    response = post_event(sandbox_event(payment), timestamp=int(time.time()) + 360)
    assert response.status_code == 400
    assert _nothing_changed(payment)


def test_it_answers_a_replay_within_the_window_without_processing_it_again(
        start, client, received, django_capture_on_commit_callbacks):
    # given a genuine delivery captured by someone and sent again, byte for byte
    payment, _url = start()
    body = json.dumps(sandbox_event(payment, event_id="evt_replayed")).encode()
    ts = int(time.time())
    with django_capture_on_commit_callbacks(execute=True):
        assert signed_post(client, body, timestamp=ts).status_code == 200
        replay = signed_post(client, body, timestamp=ts)
    # then the replay is recognised by its event id and changes nothing
    assert replay.status_code == 200 and replay.json()["duplicate"] is True
    assert len(received) == 1


def test_it_refuses_a_replay_after_the_window(start, client):
    # given a genuine delivery, captured
    payment, _url = start()
    body = json.dumps(sandbox_event(payment, event_id="evt_old")).encode()
    ts = int(time.time())
    assert signed_post(client, body, timestamp=ts).status_code == 200
    # when the same signed bytes come back ten minutes later
    import time_machine

    with time_machine.travel(time.time() + 600, tick=False):
        response = signed_post(client, body, timestamp=ts)
    # then they are refused before the event id is even looked at
    assert response.status_code == 400
    assert response.json()["code"] == "bad_signature"


@pytest.mark.parametrize("body", [
    b"", b"not json", b"[]", b"null", b'{"id": 1}', b'{"id": "x", "type": "t"}',
    b'{"id": "x", "type": "charge.succeeded", "data": []}',
    b'{"id": "", "type": "charge.succeeded", "data": {"charge": "c"}}',
    b'{"id": "x", "type": 5, "data": {"charge": "c"}}',
    b'{"id": "x", "type": "charge.succeeded", "data": {"charge": "c", "payment_method": 7}}',
    b"\xff\xfe\x00garbage", "{\"id\": \"\u00e9\"}".encode(), b"{" * 5000,
])
def test_it_answers_signed_garbage_with_400_and_stores_nothing(client, body):
    response = signed_post(client, body)
    assert response.status_code == 400
    assert response.json()["code"] == "malformed"
    assert InboundWebhookEvent.objects.count() == 0


def test_it_refuses_a_body_that_is_too_large(client):
    response = signed_post(client, b"{" + b" " * (300 * 1024) + b"}")
    assert response.status_code == 413
    assert InboundWebhookEvent.objects.count() == 0


def test_it_answers_other_methods_and_unknown_gateways_with_problems(client):
    assert client.get("/webhooks/sandbox/").status_code == 405
    response = signed_post(client, b"{}", gateway="nosuchpay")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


# --- Processing failures and the retry sweep --------------------------------------------


def test_it_keeps_an_event_for_an_unknown_payment_and_retries_it(
        start, post_event, received, django_capture_on_commit_callbacks, now):
    # given an event that arrives before simdesk knows the payment id
    payment, _url = start()
    gateway_id = payment.gateway_payment_id
    Payment.objects.filter(pk=payment.pk).update(gateway_payment_id="")
    response = post_event(sandbox_event(payment, event_id="evt_early"))
    # then it is stored and answered 200, but marked failed with a next attempt
    assert response.status_code == 200
    event = InboundWebhookEvent.objects.get()
    assert event.status == WebhookStatus.FAILED
    assert event.attempts == 1 and "no payment" in event.last_error
    assert event.next_attempt_at is not None
    # when the payment id is known and the retry sweep runs after the next attempt time
    Payment.objects.filter(pk=payment.pk).update(gateway_payment_id=gateway_id)
    import time_machine

    from simdesk.payments.tasks import webhook_events_retry_sweep

    with time_machine.travel(event.next_attempt_at, tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert webhook_events_retry_sweep.call() == 1
    # then it is processed once
    event.refresh_from_db()
    payment.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookStatus.PROCESSED, 2)
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_succeeded", payment.pk)]


def test_it_processes_an_event_stored_but_never_processed_from_the_sweep(
        start, post_event, received, django_capture_on_commit_callbacks, monkeypatch):
    # given an event whose request died after storing it (killed process, database gone)
    from datetime import timedelta

    import time_machine

    from simdesk.payments.services import webhooks
    from simdesk.payments.tasks import webhook_events_retry_sweep

    payment, _url = start()
    with monkeypatch.context() as patch:
        patch.setattr(webhooks, "webhook_event_process", lambda *, event, now: event)
        post_event(sandbox_event(payment, event_id="evt_cut"))
    # and the sandbox's repeated delivery, a duplicate, processes nothing
    post_event(sandbox_event(payment, event_id="evt_cut"))
    event = InboundWebhookEvent.objects.get()
    assert event.status == WebhookStatus.RECEIVED
    assert webhook_events_retry_sweep.call() == 0  # it may still be in its request
    # when the retry sweep runs a few minutes later
    with time_machine.travel(event.received_at + timedelta(minutes=3), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert webhook_events_retry_sweep.call() == 1
    # then it is processed once and the payment succeeds
    event.refresh_from_db()
    payment.refresh_from_db()
    assert event.status == WebhookStatus.PROCESSED
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_succeeded", payment.pk)]


def test_it_does_not_retry_before_the_next_attempt_time(start, post_event):
    payment, _url = start()
    Payment.objects.filter(pk=payment.pk).update(gateway_payment_id="")
    post_event(sandbox_event(payment))
    from simdesk.payments.tasks import webhook_events_retry_sweep

    assert webhook_events_retry_sweep.call() == 0


def test_it_reprocesses_failed_events_from_the_admin(start, post_event, admin_client):
    payment, _url = start()
    gateway_id = payment.gateway_payment_id
    Payment.objects.filter(pk=payment.pk).update(gateway_payment_id="")
    post_event(sandbox_event(payment))
    Payment.objects.filter(pk=payment.pk).update(gateway_payment_id=gateway_id)
    event = InboundWebhookEvent.objects.get()
    response = admin_client.post("/admin/payments/inboundwebhookevent/", {
        "action": "reprocess", "_selected_action": [event.pk]}, follow=True)
    assert response.status_code == 200
    event.refresh_from_db()
    assert event.status == WebhookStatus.PROCESSED
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_it_never_lets_an_event_for_another_amount_pay(start, post_event, received,
                                                       django_capture_on_commit_callbacks):
    # given an event that reports a different amount than the payment asked for
    payment, _url = start(amount_minor=999)
    event = sandbox_event(payment)
    event["data"]["amount_minor"] = 1
    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(event)
    # then it is kept for staff, and the payment does not move
    assert response.status_code == 200
    stored = InboundWebhookEvent.objects.get()
    assert stored.status == WebhookStatus.FAILED and "is for 1 USD" in stored.last_error
    assert stored.next_attempt_at is None  # retrying cannot help
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert received == []


# --- Never a 500 ------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10),
                                                                      children, max_size=4),
    max_leaves=12,
)


@hypothesis_settings(max_examples=60, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=300),
                      json_values.map(lambda value: json.dumps(value).encode()),
                      st.fixed_dictionaries({"id": json_values, "type": json_values,
                                             "data": json_values, "created": json_values})
                      .map(lambda value: json.dumps(value).encode())),
       signed=st.booleans())
def test_it_never_answers_signed_or_unsigned_garbage_with_a_server_error(client, body, signed):
    response = signed_post(client, body) if signed else client.post(
        "/webhooks/sandbox/", data=body, content_type="application/json")
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert response["Content-Type"] == "application/problem+json"


def test_it_stops_retrying_after_the_last_attempt(start, post_event):
    from simdesk.payments.services import webhook_event_process
    from simdesk.payments.services.webhooks import MAX_ATTEMPTS

    # given an event whose payment never becomes known
    payment, _url = start()
    Payment.objects.filter(pk=payment.pk).update(gateway_payment_id="")
    post_event(sandbox_event(payment))
    event = InboundWebhookEvent.objects.get()
    # when every retry fails
    while event.next_attempt_at is not None:
        event = webhook_event_process(event=event, now=event.next_attempt_at)
    # then it stops after the last attempt and waits for staff, still failed
    assert (event.status, event.attempts) == (WebhookStatus.FAILED, MAX_ATTEMPTS)
