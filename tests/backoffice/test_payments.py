"""Payments in the back office: inbound webhook events by status, reprocessing one that
failed (audited, acting once), and the recent answers of reconciliation."""

from datetime import timedelta

import pytest
from django.urls import reverse

from simdesk.core.models import AuditEntry
from simdesk.orders.models import OrderStatus
from simdesk.orders.services import order_create, order_pay
from simdesk.payments.models import (
    InboundWebhookEvent,
    Payment,
    PaymentStatus,
    PaymentStatusChange,
    WebhookStatus,
)
from tests.orders.conftest import card, make_card, make_plan, plan

from .conftest import sign_in_staff

# The order tests' shop (alice's card, a 12.00 USD plan, buying on the sandbox) as fixtures here.
SHOP_FIXTURES = (card, make_card, make_plan, plan)

KEY = "6a0c2a1e-9a8b-4c1d-8e2f-000000000001"
KEY2 = "6a0c2a1e-9a8b-4c1d-8e2f-000000000002"


@pytest.fixture
def staff_client(client, biller):
    return sign_in_staff(client, biller)


@pytest.fixture
def order(alice, card, plan, now):
    """alice's order of 12.00 USD, sent to the sandbox's pay page an hour ago, not paid yet."""
    order = order_create(customer=alice, card=card, plan=plan, currency="USD",
                         idempotency_key="pay-1", now=now - timedelta(hours=1))
    order_pay(order=order, gateway="sandbox", return_url="http://testserver/x/",
              now=now - timedelta(hours=1))
    order.refresh_from_db()
    return order


def _event(order, *, event_id="evt_1", status=WebhookStatus.FAILED, amount=1200, now,
           gateway_payment_id=None):
    return InboundWebhookEvent.objects.create(
        gateway="sandbox", event_id=event_id, type="charge.succeeded",
        gateway_payment_id=(order.payment.gateway_payment_id if gateway_payment_id is None
                            else gateway_payment_id),
        outcome="succeeded", amount_minor=amount, currency="USD", payload={},
        status=status, attempts=3 if status == WebhookStatus.FAILED else 1,
        last_error="WebhookProcessingError: no payment" if status == WebhookStatus.FAILED else "",
        received_at=now - timedelta(minutes=30))


def _reprocess(client, event, key, capture):
    with capture(execute=True):
        return client.post(reverse("backoffice:webhook_reprocess",
                                   args=[event.gateway, event.event_id]), {"key": key})


def test_it_lists_webhook_events_filtered_by_status(staff_client, order, now):
    _event(order, event_id="evt_failed", now=now)
    _event(order, event_id="evt_done", status=WebhookStatus.PROCESSED, now=now)

    everything = staff_client.get(reverse("backoffice:payments")).content.decode()
    failed = staff_client.get(reverse("backoffice:payments"), {"status": "failed"})

    assert "evt_failed" in everything and "evt_done" in everything
    assert failed.status_code == 200
    page = failed.content.decode()
    assert "evt_failed" in page and "evt_done" not in page
    assert "WebhookProcessingError: no payment" in page
    assert reverse("backoffice:webhook_reprocess", args=["sandbox", "evt_failed"]) in page


def test_it_ignores_an_unknown_status_filter(staff_client, order, now):
    _event(order, event_id="evt_failed", now=now)

    response = staff_client.get(reverse("backoffice:payments"), {"status": "nonsense"})

    assert response.status_code == 200 and "evt_failed" in response.content.decode()


def test_it_reprocesses_a_failed_event_and_records_it(
        staff_client, order, biller, now, django_capture_on_commit_callbacks):
    event = _event(order, now=now)

    response = _reprocess(staff_client, event, KEY, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.status, event.attempts, event.processed_at) == (WebhookStatus.PROCESSED, 4,
                                                                 now)
    order.refresh_from_db()
    assert order.payment.status == PaymentStatus.SUCCEEDED
    assert order.status == OrderStatus.FULFILLED  # the payment's receivers ran after commit
    entry = AuditEntry.objects.get(action="webhook.reprocess")
    assert entry.actor == biller
    assert entry.before["status"] == "failed" and entry.after["status"] == "processed"
    assert (entry.before["attempts"], entry.after["attempts"]) == (3, 4)


def test_it_reprocesses_once_when_the_form_is_sent_twice(
        staff_client, order, now, django_capture_on_commit_callbacks):
    event = _event(order, now=now, gateway_payment_id="sbx_unknown")

    _reprocess(staff_client, event, KEY, django_capture_on_commit_callbacks)
    _reprocess(staff_client, event, KEY, django_capture_on_commit_callbacks)

    event.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookStatus.FAILED, 4)
    assert AuditEntry.objects.filter(action="webhook.reprocess").count() == 1


def test_it_records_a_reprocess_that_fails_again(
        staff_client, order, now, django_capture_on_commit_callbacks):
    # the event is for another amount than the payment: staff must look, it stays failed
    event = _event(order, now=now, amount=999)

    response = _reprocess(staff_client, event, KEY, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == WebhookStatus.FAILED and "999" in event.last_error
    order.payment.refresh_from_db()
    assert order.payment.status == PaymentStatus.PENDING
    entry = AuditEntry.objects.get(action="webhook.reprocess")
    assert entry.after["status"] == "failed" and "999" in entry.after["last_error"]
    page = staff_client.get(reverse("backoffice:payments")).content.decode()
    assert "Processing failed again" in page


def test_it_leaves_a_processed_event_alone(
        staff_client, order, now, django_capture_on_commit_callbacks):
    event = _event(order, status=WebhookStatus.PROCESSED, now=now)

    _reprocess(staff_client, event, KEY, django_capture_on_commit_callbacks)

    event.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookStatus.PROCESSED, 1)
    assert not AuditEntry.objects.filter(action="webhook.reprocess").exists()
    order.payment.refresh_from_db()
    assert order.payment.status == PaymentStatus.PENDING


def test_it_answers_404_for_an_unknown_event(staff_client, order):
    response = staff_client.post(reverse("backoffice:webhook_reprocess",
                                         args=["sandbox", "evt_nope"]), {"key": KEY})

    assert response.status_code == 404


def test_it_shows_what_reconciliation_found(staff_client, order, now):
    payment = Payment.objects.get(pk=order.payment_id)
    payment.transition(PaymentStatus.FAILED, at=now - timedelta(minutes=5), source="reconcile")
    payment.refresh_from_db()

    page = staff_client.get(reverse("backoffice:payments")).content.decode()

    assert PaymentStatusChange.objects.filter(source="reconcile").count() == 1
    assert "alice@example.com" in page and "$12.00" in page
    assert str(payment.public_id)[:8] in page
