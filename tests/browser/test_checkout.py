"""A customer buys a plan with the sandbox gateway on a phone, in English and in Chinese,
and watches the result page switch to "active" by itself.

The sandbox's webhook travels over real HTTP to the live server (SITE_URL points at
it), as a vendor's would; tasks run inline in the test settings.
"""

import json
import time
import urllib.request

import pytest
from django.test import override_settings
from django.utils import translation

from simdesk.cards.iccid import iccid_with_check_digit
from simdesk.cards.models import Card, PeriodState
from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
from simdesk.catalog.services import plan_upsert
from simdesk.core.clock import utcnow
from simdesk.orders.models import Order, OrderStatus
from simdesk.payments.gateways.sandbox.models import SandboxWebhookDelivery
from simdesk.payments.gateways.sandbox.signing import SIGNATURE_HEADER, sign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"
HTTP = "simdesk.payments.gateways.sandbox.transport.UrllibTransport"


class HeldTransport:
    """A network that loses the sandbox's webhooks; the test sends the held one later."""

    def post(self, *, url, body, headers, timeout):
        return 503


def translated(text, language):
    with translation.override(language):
        return translation.gettext(text)


@pytest.fixture
def shop(db, alice):
    """A plan on sale, alice's card, and one new eSIM in stock."""
    plan = plan_upsert(
        code="europe-5gb-30d", now=utcnow(), prices={"USD": 1200, "EUR": 1100},
        countries=("FR", "DE"),
        translations={"en": ("Europe 5 GB", "Data across Europe."),
                      "zh-hans": ("欧洲 5 GB", "欧洲流量。")},
        terms={"kind": PlanKind.BASE, "data_bytes": 5 * 10**9, "validity_days": 30,
               "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
               "region": None},
    )
    card = Card(iccid=iccid_with_check_digit("894470040000000001"), owner=alice,
                label="Travel SIM")
    card.set_claim_code("ABC123")
    card.save()
    stock = Card(iccid=iccid_with_check_digit("894470040000000002"),
                 activation_code="1$smdp.example.com$NEW-ESIM-0001")
    stock.set_claim_code("XYZ789")
    stock.save()
    return plan, card, stock


def sign_in(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "/accounts/login" not in page.url


def choose_and_review(page, base, plan, choice, shot=None):
    page.goto(f"{base}/plans/{plan.code}/?currency=USD")
    page.select_option("#buy-card", choice)
    if shot:
        shot(page)
    page.locator(".buy-button").click()
    page.wait_for_url("**/checkout/*/")


def pay_on_sandbox(page, card_number="4242 4242 4242 4242"):
    page.locator(".pay-button").click()
    page.wait_for_url("**/sandbox/pay/*")
    page.fill("#card_number", card_number)
    page.locator("button[name=action][value=pay]").click()
    page.wait_for_url("**/orders/*/")


@pytest.mark.parametrize(("language", "django_language", "new_esim"),
                         [("en", "en", False), ("zh-CN", "zh-hans", True)])
def test_it_lets_a_customer_buy_a_plan_and_see_it_active(
        live_server, open_page, screenshot, alice, shop, language, django_language, new_esim):
    plan, card, stock = shop
    page = open_page(language)
    with override_settings(SITE_URL=live_server.url, SANDBOX_WEBHOOK_TRANSPORT=HTTP):
        sign_in(page, live_server.url, alice.email)
        choose_and_review(page, live_server.url, plan, "new" if new_esim else str(card.public_id),
                          shot=lambda p: screenshot(p, f"checkout-plan-{language}"))
        assert page.locator("html").get_attribute("lang") == django_language
        assert "$12.00" in page.locator(".checkout-facts .total").inner_text() or \
            "US$12.00" in page.locator(".checkout-facts .total").inner_text()
        screenshot(page, f"checkout-review-{language}")

        pay_on_sandbox(page)

        page.locator(".order-done").wait_for(timeout=10_000)
        order = Order.objects.get(customer=alice)
        assert order.status == OrderStatus.FULFILLED
        assert order.period.state == PeriodState.ACTIVE
        assert page.locator(".period-state").inner_text() == translated("Active",
                                                                        django_language)
        if new_esim:
            assert order.card == stock
            assert page.locator("svg.qr-code").is_visible()
            assert page.locator("#lpa-code").input_value() == stock.activation.qr_payload
        else:
            assert order.card == card
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, f"checkout-active-{language}")

        page.goto(f"{live_server.url}/orders/")
        assert page.locator(".order-item").count() == 1
        screenshot(page, f"checkout-history-{language}")


def test_it_updates_the_result_page_by_itself_when_the_payment_is_confirmed_later(
        live_server, open_page, screenshot, alice, shop):
    plan, card, _stock = shop
    page = open_page("en")
    with override_settings(SITE_URL=live_server.url,
                           SANDBOX_WEBHOOK_TRANSPORT="tests.browser.test_checkout.HeldTransport"):
        sign_in(page, live_server.url, alice.email)
        choose_and_review(page, live_server.url, plan, str(card.public_id))
        pay_on_sandbox(page)

        # The confirmation has not arrived: the page says it is waiting, and polls.
        waiting = page.locator(".order-waiting")
        waiting.wait_for()
        assert page.locator("#order-status[hx-trigger='every 1s']").count() == 1
        screenshot(page, "checkout-waiting-en")

        # The gateway's webhook arrives over HTTP…
        delivery = SandboxWebhookDelivery.objects.latest("id")
        body = delivery.body.encode()
        assert json.loads(body)["type"]
        request = urllib.request.Request(  # noqa: S310 - the live server, over http
            f"{live_server.url}/webhooks/sandbox/", data=body, method="POST",
            headers={"Content-Type": "application/json",
                     SIGNATURE_HEADER: sign(body=body, timestamp=int(time.time()))})
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 200

        # …and the page shows the active plan within seconds, without a reload; then it
        # stops polling.
        page.locator(".order-done").wait_for(timeout=5_000)
        assert page.locator("#order-status[hx-trigger]").count() == 0
        assert Order.objects.get(customer=alice).period.card == card


def test_it_tells_the_customer_why_the_card_was_declined_and_lets_them_try_again(
        live_server, open_page, screenshot, alice, shop):
    plan, card, _stock = shop
    page = open_page("en")
    with override_settings(SITE_URL=live_server.url, SANDBOX_WEBHOOK_TRANSPORT=HTTP):
        sign_in(page, live_server.url, alice.email)
        choose_and_review(page, live_server.url, plan, str(card.public_id))
        pay_on_sandbox(page, card_number="4000 0000 0000 9995")

        failure = page.locator(".order-failure")
        failure.wait_for(timeout=10_000)
        assert "insufficient funds" in failure.inner_text()
        screenshot(page, "checkout-declined-en")

        page.locator("a.button", has_text="Try again").click()
        page.wait_for_url("**/checkout/*/")
        assert "insufficient funds" in page.locator(".checkout-failure").inner_text()
        pay_on_sandbox(page)
        page.locator(".order-done").wait_for(timeout=10_000)
