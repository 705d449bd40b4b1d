"""simdesk's Stripe pay page and its confirm step, against the local Stripe peer over HTTP.

The browser's part (Stripe.js turning the card into a PaymentMethod) is done by
creating the PaymentMethod through the peer's API, as Stripe.js would; the rest
goes through simdesk's own pages with the Django test client.
"""

import pytest
from django.test import Client

from simdesk.payments.models import InboundWebhookEvent, Payment, PaymentStatus, SavedPaymentMethod

from . import local

pytestmark = pytest.mark.django_db


# --- The page itself -----------------------------------------------------------------------


def test_it_renders_the_publishable_key_and_never_the_secret_one(begin, alice_client):
    payment, url = begin()
    response = alice_client.get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert local.PUBLISHABLE_KEY in page
    assert local.SECRET_KEY not in page and "sk_test" not in page
    assert local.WEBHOOK_SECRET not in page
    assert 'name="csrfmiddlewaretoken"' in page
    # Stripe.js is the only script from outside, and the amount is shown
    assert '<script src="https://js.stripe.com/v3/"></script>' in page
    assert "$9.99" in page
    # the client secret is not handed out before it is needed
    assert "_secret_" not in page


def test_without_javascript_it_says_so_and_offers_the_other_ways_to_pay(begin, alice_client):
    payment, url = begin(return_url="http://testserver/orders/7/")
    page = alice_client.get(url).content.decode()
    noscript = page.split("<noscript>", 1)[1].split("</noscript>", 1)[0]
    assert "Card entry needs JavaScript" in noscript
    assert 'href="http://testserver/orders/7/"' in noscript
    # the card form itself only appears when the script runs
    assert '<form id="stripe-pay-form"' in page and "hidden novalidate" in page


def test_it_speaks_the_customers_language(begin, alice_client):
    payment, url = begin()
    page = alice_client.get(url, headers={"Accept-Language": "zh-hans"}).content.decode()
    assert '<html lang="zh-hans">' in page
    assert '"locale": "zh"' in page


def test_only_the_payments_customer_may_open_it(begin, client, make_user):
    payment, url = begin()
    # nobody signed in: to the sign-in page
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    # someone else: no such page
    client.force_login(make_user("mallory@example.com"))
    assert client.get(url).status_code == 404
    assert client.post(f"{url}/confirm", {"payment_method": "pm_x"}).status_code == 404


def test_the_confirm_step_needs_the_csrf_token(begin, alice, stripe):
    payment, url = begin()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    response = browser.post(f"{url}/confirm", {"payment_method": stripe.payment_method()})
    assert response.status_code == 403
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


# --- Paying --------------------------------------------------------------------------------


def test_paying_with_a_card_succeeds_and_sends_the_customer_back(begin, confirm, stripe,
                                                               received):
    # given a started payment: one PaymentIntent at Stripe, created with the payment's key
    payment, url = begin(return_url="http://testserver/orders/1/")
    [intent] = stripe.intents()
    assert intent["id"] == payment.gateway_payment_id
    assert (intent["amount"], intent["currency"], intent["status"]) == (
        999, "usd", "requires_payment_method")
    # when the customer pays with 4242
    response = confirm(payment)
    # then the page is told to go back to the order, which is already paid
    assert response.status_code == 200
    assert response.json() == {"status": "succeeded", "redirect": "http://testserver/orders/1/"}
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_succeeded", payment.pk)]
    assert stripe.api("GET", f"/v1/payment_intents/{intent['id']}")["status"] == "succeeded"
    # and every POST simdesk made carried an Idempotency-Key derived from the payment's
    ours = [r for r in stripe.requests() if r["path"] != "/v1/payment_methods"]
    assert ours and all(r["idempotency_key"].startswith("simdesk:order-1") for r in ours)


def test_a_declined_card_fails_the_payment_with_a_reason(begin, confirm, received):
    payment, url = begin(return_url="http://testserver/orders/1/")
    response = confirm(payment, local.CARD_DECLINED)
    assert response.json() == {"status": "failed", "redirect": "http://testserver/orders/1/"}
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED, "card_declined")
    assert "declined" in payment.failure_reason
    assert "card_declined" in payment.failure_message  # Stripe's words, for staff
    assert received == [("payment_failed", payment.pk)]


def test_pressing_pay_twice_confirms_once(begin, confirm, stripe, received):
    payment, url = begin()
    first = confirm(payment)
    second = confirm(payment)  # a second card entered in another tab
    assert first.json() == second.json()
    confirms = [r for r in stripe.requests() if r["path"].endswith("/confirm")]
    assert len(confirms) == 1
    assert len(stripe.intents()) == 1
    assert received == [("payment_succeeded", payment.pk)]


def test_a_card_asking_for_3d_secure_is_confirmed_by_the_customer(begin, confirm, stripe,
                                                                visit, received):
    payment, url = begin(return_url="http://testserver/orders/1/")
    # when the card needs 3-D Secure, the page gets the client secret for Stripe.js
    answer = confirm(payment, local.CARD_3DS).json()
    assert answer["status"] == "requires_action"
    assert answer["clientSecret"].startswith(payment.gateway_payment_id + "_secret_")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_ACTION
    # reloading the page offers the same step
    page = visit(url).content.decode()
    assert answer["clientSecret"] in page and "Confirm with your bank" in page
    # when the customer confirms at the bank and Stripe.js comes back to simdesk
    stripe.authenticate(payment.gateway_payment_id)
    response = visit(f"{url}/return?payment_intent={payment.gateway_payment_id}")
    # then the payment succeeded and the customer is back at the order
    assert response.status_code == 302 and response["Location"] == "http://testserver/orders/1/"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert received == [("payment_requires_action", payment.pk),
                        ("payment_succeeded", payment.pk)]


def test_a_failed_3d_secure_is_a_decline(begin, confirm, stripe, alice_client):
    payment, url = begin()
    confirm(payment, local.CARD_3DS)
    stripe.authenticate(payment.gateway_payment_id, success=False)
    alice_client.get(f"{url}/return")
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED,
                                                      "authentication_failed")


def test_a_card_the_customer_keeps_is_saved_for_renewals(begin, confirm, alice, stripe):
    payment, url = begin(save_method=True)
    intent = stripe.api("GET", f"/v1/payment_intents/{payment.gateway_payment_id}")
    assert intent["setup_future_usage"] == "off_session" and intent["customer"]
    confirm(payment)
    method = SavedPaymentMethod.objects.get(customer=alice, gateway="stripe")
    customer, pm = method.token.split("/")
    assert customer == intent["customer"] and pm.startswith("pm_")
    assert method.label == "Visa •••• 4242"
    # the card is the Stripe customer's now, ready for off-session charges
    assert stripe.api("GET", f"/v1/payment_methods/{pm}")["customer"] == customer
    # and the next payment that keeps a card reuses the same Stripe customer
    second, _url = begin("order-2", save_method=True)
    again = stripe.api("GET", f"/v1/payment_intents/{second.gateway_payment_id}")
    assert again["customer"] == customer


def test_something_that_is_not_a_payment_method_is_refused(begin, confirm, stripe):
    payment, url = begin()
    response = confirm(payment, method_id="4242424242424242")
    assert response.status_code == 400 and response.json()["status"] == "error"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING
    assert not [r for r in stripe.requests() if r["path"].endswith("/confirm")]


def test_when_stripe_does_not_answer_the_payment_stays_pending(begin, confirm, settings):
    payment, url = begin()
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    response = confirm(payment, method_id="pm_card_visa")
    assert response.status_code == 502 and response.json()["message"]
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PENDING


def test_a_finished_payment_shows_its_outcome_without_the_card_form(begin, confirm,
                                                                     alice_client):
    payment, url = begin()
    confirm(payment, local.CARD_DECLINED)
    page = alice_client.get(url).content.decode()
    assert "This payment was declined" in page
    assert "js.stripe.com" not in page and "stripe-pay-form" not in page


# --- End to end: an order paid by card -------------------------------------------------------


@pytest.fixture
def order(alice, stripe, now):
    from simdesk.cards.iccid import iccid_with_check_digit
    from simdesk.cards.models import Card
    from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
    from simdesk.catalog.services import plan_upsert
    from simdesk.orders.services import order_create

    plan = plan_upsert(code="europe-5gb-30d",
                       terms={"kind": PlanKind.BASE, "data_bytes": 5 * 10**9,
                              "validity_days": 30, "validity_start": ValidityStart.ON_PURCHASE,
                              "stacking": Stacking.QUEUE, "region": None},
                       translations={"en": ("Europe 5 GB", "")}, prices={"USD": 1200},
                       countries=("FR",), now=now)
    card = Card(iccid=iccid_with_check_digit("894470020000000001"), owner=alice)
    card.set_claim_code("ABC123")
    card.save()
    return order_create(customer=alice, card=card, plan=plan, currency="USD", coupon_code="",
                        idempotency_key="stripe-order-1", now=now)


def test_an_order_paid_by_card_is_fulfilled(order, confirm, stripe, client, now,
                                            django_capture_on_commit_callbacks):
    from simdesk.orders.models import OrderStatus
    from simdesk.orders.services import order_pay

    # given the customer chose to pay the order by card
    url = order_pay(order=order, gateway="stripe", return_url="http://testserver/orders/x/",
                    now=now)
    payment = Payment.objects.get()
    assert url == f"/payments/stripe/pay/{payment.public_id}"
    assert stripe.intents()[0]["amount"] == 1200
    # when they pay on the page (the after-commit receivers run, as in production)
    with django_capture_on_commit_callbacks(execute=True):
        assert confirm(payment).json()["status"] == "succeeded"
    # then the order is paid and fulfilled before they are back
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    # and Stripe's webhooks, signed by the peer, arrive later and change nothing
    webhooks = local.inbox().take(stripe.event_ids())
    types = []
    for body, headers in webhooks:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/webhooks/stripe/", data=body,
                                   content_type=headers["Content-Type"],
                                   headers={"Stripe-Signature": headers["Stripe-Signature"]})
        assert response.status_code == 200, response.content
        types.append(response.json()["status"])
    assert types and set(types) == {"processed"}
    assert InboundWebhookEvent.objects.filter(type="payment_intent.succeeded").count() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED


def test_it_never_sends_the_customer_to_another_site(begin, stripe):
    from simdesk.core.errors import ServiceError

    with pytest.raises(ServiceError):
        begin(return_url="https://evil.example/steal")
    assert stripe.intents() == []
