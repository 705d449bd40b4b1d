"""The sandbox's hosted pay page, driven over HTTP; its webhooks travel in-process
through the real endpoint (the test settings' transport)."""

import pytest
from django.test import Client

from simdesk.payments.gateways.sandbox.models import (
    SandboxCharge,
    SandboxChargeStatus,
    SandboxWebhookDelivery,
)
from simdesk.payments.models import InboundWebhookEvent, PaymentStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def act(client, django_capture_on_commit_callbacks):
    """POST to a sandbox page and run what happens after commit (the webhook delivery)."""

    def post(url, **data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return post


def test_it_shows_the_amount_merchant_and_test_cards(start, client):
    _payment, url = start(amount_minor=1250, currency="USD")
    response = client.get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert "$12.50" in page and "simdesk" in page
    for number in ("4242 4242 4242 4242", "4000 0000 0000 0002", "4000 0025 0000 3155"):
        assert number in page
    for button in ('value="pay"', 'value="decline"', 'value="cancel"'):
        assert button in page
    assert "csrfmiddlewaretoken" in page


def test_it_speaks_the_customers_language(start, client):
    _payment, url = start()
    response = client.get(url, headers={"Accept-Language": "zh-hans"})
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.content.decode()


def test_it_pays_with_the_card_that_always_succeeds(start, act, received):
    # given a started payment
    payment, url = start(return_url="/orders/42/")
    # when the customer pays with 4242 …
    response = act(url, action="pay", card_number="4242 4242 4242 4242")
    # then the browser goes back to simdesk, which already knows the payment succeeded
    assert response.status_code == 302 and response["Location"] == "/orders/42/"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_succeeded", payment.pk)]
    delivery = SandboxWebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert InboundWebhookEvent.objects.get().type == "charge.succeeded"


def test_it_declines_the_declined_card_with_a_reason(start, act, received):
    payment, url = start()
    response = act(url, action="pay", card_number="4000000000000002")
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_code == "card_declined"
    assert "declined" in payment.failure_reason
    assert received == [("payment_failed", payment.pk)]


def test_it_declines_when_the_customer_presses_decline(start, act):
    payment, url = start()
    act(url, action="decline")
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED, "card_declined")


def test_it_cancels_when_the_customer_presses_cancel(start, act, received):
    payment, url = start()
    response = act(url, action="cancel")
    assert response["Location"] == "/orders/1/"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED
    assert received == [("payment_failed", payment.pk)]


def test_it_asks_for_authentication_before_the_3155_card_succeeds(start, act, client, received):
    # given the customer pays with the card that needs authentication
    payment, url = start()
    response = act(url, action="pay", card_number="4000 0025 0000 3155")
    # then an extra step asks them to confirm, and simdesk knows it waits for them
    assert response.status_code == 302 and response["Location"].endswith("/authenticate")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_ACTION
    page = client.get(response["Location"])
    assert page.status_code == 200 and 'value="confirm"' in page.content.decode()
    # when they confirm
    response = act(response["Location"], action="confirm")
    # then the payment succeeds and the browser returns to simdesk
    assert response["Location"] == "/orders/1/"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert [name for name, _pk in received] == ["payment_requires_action", "payment_succeeded"]


def test_it_fails_when_authentication_fails(start, act):
    payment, url = start()
    act(url, action="pay", card_number="4000002500003155")
    act(url + "/authenticate", action="fail")
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED,
                                                      "authentication_failed")


def test_it_refuses_a_number_that_is_not_a_test_card(start, act):
    payment, url = start()
    response = act(url, action="pay", card_number="5555 5555 5555 4444")
    assert response.status_code == 400
    assert "test card" in response.content.decode()
    assert SandboxCharge.objects.get().status == SandboxChargeStatus.OPEN
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_it_changes_nothing_when_a_paid_form_is_submitted_again(start, act, received):
    # given a paid charge
    payment, url = start()
    act(url, action="pay", card_number="4242424242424242")
    # when the form is submitted again (back button), even with another choice
    again = act(url, action="decline")
    # then nothing changes and no second webhook is sent
    assert again.status_code == 302
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert SandboxWebhookDelivery.objects.count() == 1
    assert len(received) == 1


def test_it_shows_a_finished_payment_instead_of_the_form(start, act, client):
    _payment, url = start()
    act(url, action="pay", card_number="4242424242424242")
    page = client.get(url).content.decode()
    assert 'value="pay"' not in page
    assert 'href="/orders/1/"' in page


def test_it_requires_the_csrf_token(start):
    payment, url = start()
    response = Client(enforce_csrf_checks=True).post(url, {"action": "pay",
                                                          "card_number": "4242424242424242"})
    assert response.status_code == 403
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_it_answers_unknown_pages_with_404(client):
    assert client.get("/sandbox/pay/8c8c2f0e-5d7e-4f55-9d83-2f0d3c1d1a11").status_code == 404
    assert client.get("/sandbox/pay/42").status_code == 404


def test_it_saves_the_card_when_asked_and_tells_simdesk(start, act):
    payment, url = start(save_method=True)
    act(url, action="pay", card_number="4242424242424242")
    payment.refresh_from_db()
    method = payment.saved_method
    assert method is not None and method.label == "Visa •••• 4242"
    assert method.token.startswith("sbxpm_")
