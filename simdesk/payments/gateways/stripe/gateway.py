"""Stripe: card payments with PaymentIntents, saved cards for renewals, refunds, signed webhooks.

How a one-off payment runs, and why this way:

1. ``start_payment`` creates the PaymentIntent at once, unconfirmed and without a
   payment method (what Stripe recommends), with the amount, the currency and,
   when the customer asked to keep the card, a Stripe Customer and
   ``setup_future_usage="off_session"``. The intent's id is the payment's
   ``gateway_payment_id`` from the first moment, so every webhook and every
   reconciliation finds its payment, even for a customer who never comes back.
   The customer is sent to simdesk's own pay page (``stripe:pay``), not to Stripe.
2. On that page Stripe.js (the one thing loaded from Stripe) turns the card into
   a PaymentMethod in the browser; only its ``pm_…`` id is POSTed to simdesk.
3. The server attaches it to the intent (``update``) and confirms it
   (``confirm`` with a ``return_url`` for 3-D Secure redirects). That is two
   calls where ``confirm(payment_method=…)`` would be one, because localstripe,
   the Stripe peer the tests talk to, cannot take a payment method on confirm;
   for Stripe the two do the same. ``requires_action`` hands the intent's client
   secret back to Stripe.js (``handleNextAction``), which comes back to
   ``stripe:return``; so does Stripe's own redirect after 3-D Secure.
4. The answer of the confirmation is applied to the payment at once (as a
   reconciliation would), so the customer comes back to a paid order; the
   webhooks that follow are recognised and change nothing.

Every POST carries an ``Idempotency-Key`` derived from the payment's (or the
refund's) key: creating the intent twice for one payment, pressing pay twice,
or a retry after a timeout, each reaches Stripe as the same request. Beyond
Stripe's 24-hour replay window the payment's stored ``gateway_payment_id``
stops a second creation.

A saved method's token is ``"<cus_…>/<pm_…>"``: off-session charges need both.
Amounts are integer minor units, which is what Stripe takes too (its
zero-decimal currencies, e.g. JPY, have the same 0 digits as babel's).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..base import (
    ChargeResult,
    GatewayError,
    GatewayEvent,
    Outcome,
    PaymentDeclined,
    PaymentGateway,
    RefundResult,
    StartResult,
    StatusResult,
    WebhookMalformedError,
    checked_return_url,
)
from . import client
from .client import StripeCardError
from .mapping import (
    PAYMENT_METHOD_RE,
    TOKEN_RE,
    failure_for,
    method_label,
    saved_method_of,
    staff_words,
    status_of,
    stripe_amount,
    stripe_id,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Stripe-Signature"

EVENT_OUTCOMES = {
    "payment_intent.succeeded": Outcome.SUCCEEDED,
    "payment_intent.payment_failed": Outcome.FAILED,
    "payment_intent.requires_action": Outcome.REQUIRES_ACTION,
    "payment_intent.canceled": Outcome.CANCELLED,
}


def idempotency_key(payment, *parts: str) -> str:
    """The ``Idempotency-Key`` of one request about ``payment`` (Stripe keeps 255 chars)."""
    return ":".join(("simdesk", payment.idempotency_key, *parts))[:255]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


class StripeGateway(PaymentGateway):
    name = "stripe"
    label = _("Card (Stripe)")
    supports_saved_methods = True

    def mode(self) -> str:
        key = settings.STRIPE_SECRET_KEY or ""
        return "live" if key.startswith(("sk_live_", "rk_live_")) else "test"

    # --- One-off payments ----------------------------------------------------------------

    def start_payment(self, *, payment, return_url: str, save_method: bool) -> StartResult:
        checked_return_url(return_url)
        pay_page = reverse("stripe:pay", kwargs={"payment_id": payment.public_id})
        if payment.gateway_payment_id:
            # Started before (Stripe's idempotency window is only 24 hours).
            return StartResult(redirect_url=pay_page,
                               gateway_payment_id=payment.gateway_payment_id)
        params: dict[str, Any] = {
            "amount": stripe_amount(payment.amount_minor, payment.currency),
            "currency": payment.currency.lower(),
            "payment_method_types": ["card"],
            "description": payment.reference[:100],
            "metadata": {"simdesk_payment": str(payment.public_id),
                         "simdesk_reference": payment.reference[:500]},
        }
        if save_method:
            params["customer"] = self._customer_for(payment)
            params["setup_future_usage"] = "off_session"
        intent = client.payment_intent_create(params=params,
                                              idempotency_key=idempotency_key(payment))
        return StartResult(redirect_url=pay_page, gateway_payment_id=intent["id"])

    def _customer_for(self, payment) -> str:
        """The Stripe Customer that keeps this customer's cards: the one an earlier saved
        card belongs to, or a new one (created once per payment key)."""
        from simdesk.payments.models import SavedPaymentMethod

        for token in (SavedPaymentMethod.objects.filter(customer_id=payment.customer_id,
                                                        gateway=self.name)
                      .order_by("created_at").values_list("token", flat=True)):
            match = TOKEN_RE.match(token)
            if match:
                return match.group(1)
        customer = client.customer_create(
            params={"metadata": {"simdesk_customer": str(payment.customer.public_id)}},
            idempotency_key=idempotency_key(payment, "customer"))
        return customer["id"]

    def confirm(self, *, payment, payment_method_id: str, return_url: str) -> dict[str, Any]:
        """Attach the card tokenised in the browser and confirm the intent; Stripe's answer.

        A decline is not raised: the intent comes back with its ``last_payment_error``.
        An intent already confirmed (pay pressed twice) is returned as it is.
        """
        if not PAYMENT_METHOD_RE.match(payment_method_id or ""):
            raise GatewayError(detail=f"not a payment method id: {payment_method_id[:50]!r}")
        intent_id = payment.gateway_payment_id
        intent = client.payment_intent_retrieve(intent_id)
        fresh = intent.get("status") == "requires_payment_method" and not intent.get(
            "last_payment_error")
        if not (fresh or intent.get("status") == "requires_confirmation"):
            return intent
        try:
            client.payment_intent_update(
                intent_id, params={"payment_method": payment_method_id},
                idempotency_key=idempotency_key(payment, "method", payment_method_id))
            return client.payment_intent_confirm(
                intent_id, params={"return_url": return_url},
                idempotency_key=idempotency_key(payment, "confirm", payment_method_id))
        except StripeCardError as error:
            return error.payment_intent or client.payment_intent_retrieve(intent_id)

    def intent(self, *, payment) -> dict[str, Any]:
        """The payment's PaymentIntent as Stripe has it now (client secret included)."""
        return client.payment_intent_retrieve(payment.gateway_payment_id,
                                              expand=["payment_method", "latest_charge"])

    # --- Webhooks ------------------------------------------------------------------------

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes,
                      now: datetime) -> GatewayEvent:
        client.webhook_verify(body=body, header=_header(headers, SIGNATURE_HEADER),
                              secret=settings.STRIPE_WEBHOOK_SECRET, now=now)
        try:
            event = json.loads(body.decode("utf-8"))
            event_id, event_type = event["id"], event["type"]
            obj = event["data"]["object"]
            if not (isinstance(event_id, str) and event_id and isinstance(event_type, str)
                    and isinstance(obj, dict)):
                raise TypeError("wrong field types")
            created = event.get("created")
            occurred_at = (datetime.fromtimestamp(created, UTC)
                           if isinstance(created, int) else None)
            return self._event(event_id=event_id, event_type=event_type, obj=obj,
                               occurred_at=occurred_at, payload=event)
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as error:
            raise WebhookMalformedError(f"not a Stripe event: {error}") from None

    def _event(self, *, event_id: str, event_type: str, obj: dict, occurred_at,
               payload: dict) -> GatewayEvent:
        common = {"event_id": event_id, "type": event_type, "occurred_at": occurred_at,
                  "payload": payload}
        if event_type.startswith("payment_intent."):
            if obj.get("object") != "payment_intent" or not stripe_id(obj):
                raise TypeError("a payment_intent event without its payment intent")
            outcome = EVENT_OUTCOMES.get(event_type)
            error = obj.get("last_payment_error") or {}
            failure_code = failure_message = ""
            if outcome == Outcome.FAILED:
                failure_code, _message = failure_for(str(error.get("code") or ""),
                                                     str(error.get("decline_code") or ""))
                failure_message = staff_words(error)
                if failure_code == "authentication_required":
                    outcome = Outcome.REQUIRES_ACTION  # see status_of
            token = label = ""
            if outcome == Outcome.SUCCEEDED:
                token, label = saved_method_of(obj)
                if token and not label:
                    label = self.saved_method_label(token)
            return GatewayEvent(
                gateway_payment_id=stripe_id(obj), outcome=outcome, failure_code=failure_code,
                failure_message=failure_message, saved_method_token=token,
                saved_method_label=label, **self._money(obj), **common)
        if event_type.startswith("charge.") and obj.get("object") == "charge":
            # charge.refunded and the like: kept, for staff; refunds are recorded when made.
            return GatewayEvent(gateway_payment_id=stripe_id(obj.get("payment_intent")),
                                outcome=None, **self._money(obj), **common)
        return GatewayEvent(gateway_payment_id="", outcome=None, **common)

    @staticmethod
    def _money(obj: Mapping[str, Any]) -> dict[str, Any]:
        amount, currency = obj.get("amount"), obj.get("currency")
        if not (isinstance(amount, int) and not isinstance(amount, bool)
                and isinstance(currency, str)):
            raise TypeError("no amount and currency")
        return {"amount_minor": amount, "currency": currency.upper()}

    def saved_method_label(self, token: str) -> str:
        """The saved card's label: as simdesk already knows it, or asked of Stripe."""
        from simdesk.payments.models import SavedPaymentMethod

        known = (SavedPaymentMethod.objects.filter(gateway=self.name, token=token)
                 .values_list("label", flat=True).first())
        if known:
            return known
        # A GatewayError here answers the webhook with an error: Stripe sends it again.
        return method_label(client.payment_method_retrieve(token.split("/", 1)[1]))

    # --- Saved methods (renewals) --------------------------------------------------------

    def charge_saved_method(self, *, payment, method_token: str) -> ChargeResult:
        if payment.gateway_payment_id:
            return self._charge_result(payment, client.payment_intent_retrieve(
                payment.gateway_payment_id))
        match = TOKEN_RE.match(method_token or "")
        if match is None:
            raise GatewayError(detail=f"not a Stripe saved-method token: {method_token[:60]!r}")
        customer, method = match.groups()
        params = {
            "amount": stripe_amount(payment.amount_minor, payment.currency),
            "currency": payment.currency.lower(),
            "customer": customer, "payment_method": method,
            "payment_method_types": ["card"],
            "off_session": True, "confirm": True,
            "description": payment.reference[:100],
            "metadata": {"simdesk_payment": str(payment.public_id),
                         "simdesk_reference": payment.reference[:500]},
        }
        try:
            intent = client.payment_intent_create(params=params,
                                                  idempotency_key=idempotency_key(payment))
        except StripeCardError as error:
            intent = dict(error.payment_intent or {})
            if "authentication_required" in (error.code, error.decline_code):
                # Off-session, Stripe answers a bank's 3-D Secure request with this
                # error; the customer completes it on our page with the same intent.
                return ChargeResult(outcome=Outcome.REQUIRES_ACTION,
                                    gateway_payment_id=stripe_id(intent),
                                    redirect_url=self._authenticate_url(payment))
            code, message = failure_for(error.code, error.decline_code)
            raise PaymentDeclined(message, failure_code=code,
                                  gateway_payment_id=stripe_id(intent)) from None
        return self._charge_result(payment, intent)

    def _authenticate_url(self, payment) -> str:
        return reverse("stripe:authenticate", kwargs={"payment_id": payment.public_id})

    def _charge_result(self, payment, intent: Mapping[str, Any]) -> ChargeResult:
        status = status_of(intent)
        if status.outcome in (Outcome.FAILED, Outcome.CANCELLED):
            error = intent.get("last_payment_error") or {}
            code, message = failure_for(str(error.get("code") or ""),
                                        str(error.get("decline_code") or ""))
            raise PaymentDeclined(message, failure_code=status.failure_code or code,
                                  gateway_payment_id=stripe_id(intent))
        redirect = (self._authenticate_url(payment)
                    if status.outcome == Outcome.REQUIRES_ACTION else "")
        return ChargeResult(outcome=status.outcome, gateway_payment_id=stripe_id(intent),
                            redirect_url=redirect)

    # --- Refunds and status --------------------------------------------------------------

    def refund(self, *, payment, amount_minor: int, idempotency_key: str) -> RefundResult:
        intent = client.payment_intent_retrieve(payment.gateway_payment_id,
                                                expand=["latest_charge"])
        for refund in client.refunds_for_payment_intent(stripe_id(intent)):
            # Made before (Stripe replays a key for 24 hours only): the same refund.
            if (refund.get("metadata") or {}).get("simdesk_refund") == idempotency_key:
                return RefundResult(refund_id=refund["id"], amount_minor=refund["amount"])
        charge = intent.get("latest_charge")
        if intent.get("status") != "succeeded" or not isinstance(charge, Mapping):
            raise GatewayError(detail=f"stripe intent {stripe_id(intent)} is "
                                      f"{intent.get('status')}: nothing to refund")
        left = int(charge.get("amount") or 0) - int(charge.get("amount_refunded") or 0)
        if not isinstance(amount_minor, int) or amount_minor <= 0 or amount_minor > left:
            raise GatewayError(detail=f"refund of {amount_minor} on {stripe_id(intent)}: only "
                                      f"{left} is left")
        refund = client.refund_create(
            params={"payment_intent": stripe_id(intent), "amount": amount_minor,
                    "metadata": {"simdesk_refund": idempotency_key[:500],
                                 "simdesk_payment": str(payment.public_id)}},
            idempotency_key=f"simdesk:refund:{idempotency_key}"[:255])
        if refund.get("status") in ("failed", "canceled"):
            raise GatewayError(detail=f"stripe refund {refund.get('id')} is {refund['status']}")
        return RefundResult(refund_id=refund["id"], amount_minor=int(refund["amount"]))

    def query_status(self, *, payment) -> StatusResult:
        if not payment.gateway_payment_id:
            raise GatewayError(detail=f"payment {payment.public_id} has no Stripe intent")
        return status_of(self.intent(payment=payment))
