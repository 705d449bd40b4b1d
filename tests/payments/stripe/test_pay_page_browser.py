"""The pay page's own script, in Chromium, with a stand-in for Stripe.js.

Stripe.js cannot be loaded here, so its address answers with a small stand-in
that does what Stripe.js does for the page: the card element "tokenises" into a
PaymentMethod made beforehand at the local Stripe peer, and ``handleNextAction``
completes 3-D Secure at the peer. Everything else is real: the page's script,
simdesk's confirm and return views over a live server, and the peer.
"""

import shutil
from pathlib import Path

import pytest
from django.test import Client

from simdesk.payments.models import PaymentStatus

from . import local

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium (apt-get install "
                                                           "chromium)"),
]

FAKE_STRIPE_JS = """
window.stripeCalls = [];
window.Stripe = function (key, options) {
  window.stripeCalls.push(["Stripe", key, options.locale]);
  function authenticate(secret) {
    var id = secret.split("_secret_")[0];
    var body = new URLSearchParams({key: key, client_secret: secret, success: "true"});
    var address = PEER + "/v1/payment_intents/" + id + "/_authenticate";
    return fetch(address, {method: "POST", body: body})
      .then(function (r) { return r.json(); })
      .then(function (intent) { return {paymentIntent: intent}; });
  }
  return {
    elements: function (opts) {
      window.stripeCalls.push(["elements", opts.mode, opts.amount, opts.currency]);
      return {
        create: function (type) {
          return {mount: function (selector) {
            document.querySelector(selector).textContent = "[" + type + " element]";
          }};
        },
        submit: function () { return Promise.resolve({}); }
      };
    },
    createPaymentMethod: function () {
      window.stripeCalls.push(["createPaymentMethod"]);
      return Promise.resolve({paymentMethod: {id: PAYMENT_METHOD}});
    },
    handleNextAction: function (args) {
      window.stripeCalls.push(["handleNextAction"]);
      return authenticate(args.clientSecret);
    },
    retrievePaymentIntent: function (secret) {
      // The peer keeps an off-session charge that needs 3-D Secure in requires_action.
      window.stripeCalls.push(["retrievePaymentIntent"]);
      return Promise.resolve({paymentIntent: {status: "requires_action"}});
    }
  };
};
"""


@pytest.fixture
def chromium(browser):
    """The session's Chromium (tests/conftest.py): a second Playwright started while it
    runs would fail."""
    return browser


@pytest.fixture
def alice_browser(chromium, alice, live_server, stripe):
    """alice, signed in, in Chromium; Stripe.js answered by the stand-in for ``card``."""
    client = Client()
    client.force_login(alice)
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])

    def open_page(url: str, card: str):
        script = (f"var PEER = {stripe.url!r}; "
                  f"var PAYMENT_METHOD = {stripe.payment_method(card)!r};" + FAKE_STRIPE_JS)
        context.route("https://js.stripe.com/v3/", lambda route: route.fulfill(
            status=200, content_type="application/javascript", body=script))
        page = context.new_page()
        page.goto(live_server.url + url)
        return page

    yield open_page
    context.close()


def test_the_page_pays_with_the_card_and_goes_back_to_the_order(begin, alice_browser):
    payment, url = begin(return_url="/orders/1/")
    page = alice_browser(url, local.CARD_SUCCEEDS)
    # Stripe.js got the publishable key and the amount; its element is in the form
    assert page.evaluate("window.stripeCalls") == [
        ["Stripe", local.PUBLISHABLE_KEY, "en"], ["elements", "payment", 999, "usd"]]
    assert page.locator("#payment-element").inner_text() == "[payment element]"
    page.get_by_role("button", name="Pay $9.99").click()
    page.wait_for_url("**/orders/1/")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_the_page_hands_3d_secure_to_stripe_js_and_comes_back(begin, alice_browser):
    payment, url = begin(return_url="/orders/1/")
    page = alice_browser(url, local.CARD_3DS)
    page.get_by_role("button", name="Pay $9.99").click()
    page.wait_for_url("**/orders/1/")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert payment.history.filter(to_status=PaymentStatus.REQUIRES_ACTION).exists()


def test_a_declined_card_goes_back_to_the_order_which_says_why(begin, alice_browser):
    payment, url = begin(return_url="/orders/1/")
    page = alice_browser(url, local.CARD_DECLINED)
    page.get_by_role("button", name="Pay $9.99").click()
    page.wait_for_url("**/orders/1/")
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED, "card_declined")


def test_the_authentication_page_of_a_renewal_completes_3d_secure(stripe, alice, alice_browser,
                                                                now):
    from simdesk.payments.models import SavedPaymentMethod
    from simdesk.payments.services import payment_charge_saved_method

    method = SavedPaymentMethod.objects.create(
        customer=alice, gateway="stripe", token=stripe.saved_method(local.CARD_3DS_ALWAYS),
        label="Visa •••• 3184")
    payment = payment_charge_saved_method(customer=alice, method=method, amount_minor=1500,
                                          currency="USD", reference="renewal:1",
                                          idempotency_key="renewal-1", now=now)
    assert payment.status == PaymentStatus.REQUIRES_ACTION
    # the link of the e-mail
    page = alice_browser(payment.redirect_url, local.CARD_SUCCEEDS)
    page.get_by_role("button", name="Confirm with your bank").click()
    page.get_by_text("This payment is complete.").wait_for()
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
