// The Stripe pay page (payments/templates/stripe/pay.html): card entry with Stripe.js,
// the PaymentMethod's id POSTed with the CSRF token to simdesk's confirm view, and 3-D Secure
// handed to Stripe.js. Its settings and texts come from the page's json_script blocks.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("stripe-config").textContent);
  var texts = JSON.parse(document.getElementById("stripe-texts").textContent);
  var form = document.getElementById("stripe-pay-form");
  var errorBox = document.getElementById("stripe-error");
  if (typeof window.Stripe !== "function") {
    document.getElementById("stripe-unavailable").hidden = false;
    return;
  }
  var stripe = window.Stripe(config.publishableKey, {locale: config.locale});
  var button = form.querySelector("button[type=submit]");
  var elements = null;
  form.hidden = false;

  function busy(on) { button.disabled = on; }
  function fail(message) {
    errorBox.textContent = message || texts.network;
    errorBox.hidden = false;
    busy(false);
  }
  // Whatever 3-D Secure ended with, simdesk asks Stripe (the return page) and moves on.
  function finish() { window.location.assign(config.returnUrl); }
  function nextAction(secret) {
    return stripe.handleNextAction({clientSecret: secret}).then(function (result) {
      if (result.error) { fail(result.error.message); } else { finish(); }
    });
  }
  function authenticate() {
    // Off-session charges come back either waiting for the bank's step
    // (requires_action) or refused until the customer confirms the same card.
    return stripe.retrievePaymentIntent(config.clientSecret).then(function (result) {
      var intent = result.paymentIntent;
      if (result.error || !intent) { fail(result.error && result.error.message); return; }
      if (intent.status === "requires_action") { return nextAction(config.clientSecret); }
      if (intent.status === "requires_payment_method" || intent.status === "requires_confirmation") {
        return stripe.confirmCardPayment(config.clientSecret, {payment_method: config.paymentMethod})
          .then(function (r) { if (r.error) { fail(r.error.message); } else { finish(); } });
      }
      finish();
    });
  }
  function pay() {
    return elements.submit().then(function (result) {
      if (result.error) { fail(result.error.message); return; }
      return stripe.createPaymentMethod({elements: elements}).then(function (created) {
        if (created.error) { fail(created.error.message); return; }
        var body = new FormData(form);
        body.append("payment_method", created.paymentMethod.id);
        return fetch(config.confirmUrl, {method: "POST", body: body, credentials: "same-origin",
                                         headers: {"Accept": "application/json"}})
          .then(function (response) { return response.json(); })
          .then(function (answer) {
            if (answer.status === "requires_action") { return nextAction(answer.clientSecret); }
            if (answer.status === "error") { fail(answer.message); return; }
            window.location.assign(answer.redirect);
          });
      });
    });
  }

  if (!config.clientSecret) {
    var options = {mode: "payment", amount: config.amount, currency: config.currency,
                   paymentMethodCreation: "manual", paymentMethodTypes: ["card"]};
    if (config.saveMethod) { options.setupFutureUsage = "off_session"; }
    elements = stripe.elements(options);
    elements.create("payment").mount("#payment-element");
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    busy(true);
    errorBox.hidden = true;
    var step = !config.clientSecret ? pay()
      : (config.paymentMethod ? authenticate() : nextAction(config.clientSecret));
    step.catch(function () { fail(texts.network); });
  });
})();
