"""Staff register endpoints in the admin, copy the secret, send a test event, switch an
endpoint off, and read deliveries and attempts (never edit them)."""

import pytest
from django.contrib.admin.sites import site

from simdesk.integrations.models import (
    DeliveryStatus,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from simdesk.integrations.services import event_emit

pytestmark = pytest.mark.django_db

ENDPOINTS = "/admin/integrations/webhookendpoint/"


@pytest.fixture
def staff_client(client, make_user):
    client.force_login(make_user("staff@example.com", is_staff=True, is_superuser=True))
    return client


def test_staff_register_an_endpoint_and_see_its_secret(staff_client, receiver):
    form = staff_client.get(f"{ENDPOINTS}add/").content.decode()
    assert "Order paid" in form and "Card suspended" in form and "Test event" not in form

    response = staff_client.post(f"{ENDPOINTS}add/", {
        "url": receiver.url, "description": "CRM", "event_types": ["order.paid",
                                                                    "card.suspended"],
        "active": "on"})

    assert response.status_code == 302, response.content[:2000]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["order.paid", "card.suspended"] and endpoint.active
    page = staff_client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    assert endpoint.secret in page
    listing = staff_client.get(ENDPOINTS).content.decode()
    assert "order.paid, card.suspended" in listing and receiver.url in listing


def test_the_form_refuses_an_address_that_is_not_http(staff_client):
    response = staff_client.post(f"{ENDPOINTS}add/", {"url": "ftp://example.com/hook",
                                                      "active": "on"})

    assert response.status_code == 200
    assert not WebhookEndpoint.objects.exists()


def test_the_test_event_reaches_the_endpoint_signed(staff_client, endpoint, receiver,
                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(ENDPOINTS, {"action": "send_test_event",
                                                 "_selected_action": [endpoint.pk]})

    assert response.status_code == 302
    [request] = receiver.requests
    assert request.signature_ok and request.json["type"] == "webhook.test"
    assert request.json["data"]["endpoint"] == str(endpoint.public_id)
    assert request.headers["Simdesk-Event-Id"] == request.json["id"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    listing = staff_client.get("/admin/integrations/webhookdelivery/").content.decode()
    assert request.json["id"] in listing
    detail = staff_client.get(
        f"/admin/integrations/webhookdelivery/{delivery.pk}/change/").content.decode()
    assert "received" in detail  # the receiver's answer, in the attempt's excerpt
    for page in ("webhookevent", "webhookattempt"):
        assert staff_client.get(f"/admin/integrations/{page}/").status_code == 200


def test_staff_can_send_a_failed_delivery_again(staff_client, endpoint, receiver, now,
                                                 django_capture_on_commit_callbacks):
    event = event_emit(type=EventType.ORDER_PAID, data={}, dedupe_key="order.paid:x", now=now)
    delivery = event.deliveries.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.GIVEN_UP,
                                                          attempts=7, next_attempt_at=None)

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post("/admin/integrations/webhookdelivery/",
                          {"action": "retry", "_selected_action": [delivery.pk]})

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 8)
    assert len(receiver.requests) == 1


def test_an_endpoint_switched_off_by_staff_receives_nothing(staff_client, endpoint, receiver,
                                                            now):
    response = staff_client.post(ENDPOINTS, {"action": "deactivate",
                                             "_selected_action": [endpoint.pk]})

    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.active is False
    assert event_emit(type=EventType.ORDER_PAID, data={}, dedupe_key="order.paid:x",
                      now=now) is None


def test_staff_can_give_an_endpoint_a_new_secret(staff_client, endpoint):
    old = endpoint.secret

    staff_client.post(ENDPOINTS, {"action": "rotate_secret", "_selected_action": [endpoint.pk]})

    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret.startswith("whsec_")


@pytest.mark.parametrize("model", [WebhookEvent, WebhookDelivery, WebhookAttempt])
def test_events_deliveries_and_attempts_are_read_only(model, rf, make_user):
    request = rf.get("/admin/")
    request.user = make_user("root@example.com", is_staff=True, is_superuser=True)
    model_admin = site._registry[model]
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_endpoints_are_switched_off_not_deleted(rf, make_user):
    request = rf.get("/admin/")
    request.user = make_user("root@example.com", is_staff=True, is_superuser=True)

    assert not site._registry[WebhookEndpoint].has_delete_permission(request)


def test_each_test_event_is_a_new_event(endpoint, now):
    from simdesk.integrations.services import webhook_test_send

    first = webhook_test_send(endpoint=endpoint, now=now)
    second = webhook_test_send(endpoint=endpoint, now=now)

    assert first.event_id != second.event_id
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 2


def test_staff_who_are_not_superusers_cannot_open_the_admin_even_with_view_rights(
        client, make_user, endpoint):
    """Raw data in the admin is for superusers; staff work in the back office."""
    from django.contrib.auth.models import Permission

    viewer = make_user("viewer@example.com", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookendpoint"))
    client.force_login(viewer)

    page = client.get(f"{ENDPOINTS}{endpoint.pk}/change/")

    assert page.status_code == 302 and "/admin/login/" in page["Location"]
    assert endpoint.secret not in page.content.decode()
