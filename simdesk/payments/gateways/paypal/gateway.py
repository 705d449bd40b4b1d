"""PayPal (Orders v2 through ``paypal-server-sdk``): create → the customer approves at
PayPal → simdesk captures.

- ``start_payment`` creates an order (intent CAPTURE) whose experience context returns
  the customer to ``paypal:return`` / ``paypal:cancel`` (views.py), and sends them to
  its ``payer-action`` (or ``approve``) link; the order id is the payment's gateway id.
- Coming back, the return page captures the order and applies the outcome at once
  (services.py). A ``CHECKOUT.ORDER.APPROVED`` webhook captures too (decided so: an
  approval whose browser never comes back is still collected, not left to expire).
  Both lock the payment row and send the same ``PayPal-Request-Id``, so PayPal
  captures once however many arrive, in whatever order; both capture only an open
  payment, so an order the customer cancelled is never captured afterwards.
- ``PayPal-Request-Id`` is derived from the payment's idempotency key on create and
  capture and from the refund's key on refunds.
- Webhooks are verified by PayPal itself (verify-webhook-signature, the SDK has no
  helper); anything but ``SUCCESS`` is rejected, and a verification PayPal could not
  be asked for is rejected too (400: PayPal delivers it again). The event's own
  amount is what the webhook service compares with the payment's.
- Saved PayPal (the vault): with ``save_method`` the order asks PayPal to vault the
  wallet on success (``store_in_vault: ON_SUCCESS``); the vault id PayPal returns is
  the saved method's token. Renewals create an order with ``payment_source.paypal.
  vault_id``, which PayPal pays at once (or parks as ``PAYER_ACTION_REQUIRED``: the
  customer acts at PayPal and comes back to the same return page). The PayPal
  account must be enabled for vaulting by PayPal.

Amounts go to PayPal as decimal strings in the currency's own precision ("9.99" USD,
"1200" JPY) and come back to minor units exactly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from paypalserversdk.api_helper import APIHelper
from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
from paypalserversdk.models.money import Money as PaypalMoney
from paypalserversdk.models.order_request import OrderRequest
from paypalserversdk.models.payment_source import PaymentSource
from paypalserversdk.models.paypal_wallet import PaypalWallet
from paypalserversdk.models.paypal_wallet_attributes import PaypalWalletAttributes
from paypalserversdk.models.paypal_wallet_experience_context import (
    PaypalWalletExperienceContext,
)
from paypalserversdk.models.paypal_wallet_stored_credential import PaypalWalletStoredCredential
from paypalserversdk.models.paypal_wallet_vault_instruction import PaypalWalletVaultInstruction
from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest
from paypalserversdk.models.refund_request import RefundRequest

from simdesk.core.money import decimal_string_to_minor, minor_to_decimal_string
from simdesk.payments.models import Payment, PaymentStatus

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
    WebhookRejected,
    WebhookSignatureError,
    checked_return_url,
)
from .client import PaypalApiError, call, paypal_client, request_id, verify_webhook_signature

logger = logging.getLogger(__name__)

#: The headers PayPal signs a webhook with; all are needed to verify it.
SIGNATURE_HEADERS = {
    "transmission_id": "PAYPAL-TRANSMISSION-ID",
    "transmission_time": "PAYPAL-TRANSMISSION-TIME",
    "transmission_sig": "PAYPAL-TRANSMISSION-SIG",
    "cert_url": "PAYPAL-CERT-URL",
    "auth_algo": "PAYPAL-AUTH-ALGO",
}
CAPTURE_OUTCOMES = {
    "COMPLETED": Outcome.SUCCEEDED,
    "PARTIALLY_REFUNDED": Outcome.SUCCEEDED,
    "REFUNDED": Outcome.SUCCEEDED,
    "PENDING": Outcome.PENDING,
    "DECLINED": Outcome.FAILED,
    "FAILED": Outcome.FAILED,
}
ORDER_OUTCOMES = {  # an order with no capture yet
    "CREATED": Outcome.PENDING,
    "SAVED": Outcome.PENDING,
    "APPROVED": Outcome.PENDING,
    "PAYER_ACTION_REQUIRED": Outcome.REQUIRES_ACTION,
    "VOIDED": Outcome.CANCELLED,
    "COMPLETED": Outcome.PENDING,
}
EVENT_OUTCOMES = {
    "PAYMENT.CAPTURE.COMPLETED": Outcome.SUCCEEDED,
    "PAYMENT.CAPTURE.PENDING": Outcome.PENDING,
    "PAYMENT.CAPTURE.DENIED": Outcome.FAILED,
    "PAYMENT.CAPTURE.DECLINED": Outcome.FAILED,
}
#: PayPal issues that mean the payer's funding was refused (not our fault, not unknown).
DECLINE_ISSUES = ("INSTRUMENT_DECLINED", "TRANSACTION_REFUSED",
                  "PAYER_CANNOT_PAY", "COMPLIANCE_VIOLATION", "AGREEMENT_ALREADY_CANCELLED",
                  "PAYMENT_SOURCE_DECLINED_BY_PROCESSOR", "PAYMENT_DENIED")
#: simdesk's failure code for every PayPal decline (its reason: payments.models.FAILURE_REASONS).
DECLINED_CODE = "paypal_declined"
DECLINED_MESSAGE = _("PayPal declined this payment. Choose another way to pay in PayPal, "
                     "or another payment method.")


@dataclass(frozen=True)
class OrderState:
    """What an order says about its payment (from a create, capture or GET answer)."""

    order_id: str
    outcome: Outcome
    capture_id: str = ""
    amount_minor: int | None = None
    currency: str = ""
    failure_code: str = ""
    failure_message: str = ""
    saved_method_token: str = ""
    saved_method_label: str = ""
    refunded_minor: int = 0
    payer_action_url: str = ""


def _link(document: Mapping[str, Any], *rels: str) -> str:
    for rel in rels:
        for link in document.get("links") or []:
            if isinstance(link, dict) and link.get("rel") == rel and link.get("href"):
                return str(link["href"])
    return ""


def _minor(amount: Any) -> tuple[int | None, str]:
    """PayPal's ``{currency_code, value}`` in minor units; (None, "") if absent."""
    if not isinstance(amount, dict):
        return None, ""
    currency = str(amount.get("currency_code") or "")
    return decimal_string_to_minor(amount.get("value"), currency), currency


def order_state(order: Mapping[str, Any]) -> OrderState:
    """Read an order document (Orders v2 JSON) into what simdesk needs; GatewayError for
    one that cannot be read (the outcome is then unknown, never guessed)."""
    try:
        return _order_state(order)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        raise GatewayError(detail=f"unreadable PayPal order {error!r}: {order!r:.300}") from None


def _order_state(order: Mapping[str, Any]) -> OrderState:
    order_id = str(order.get("id") or "")
    status = str(order.get("status") or "")
    units = order.get("purchase_units") or [{}]
    payments = units[0].get("payments") or {}
    captures = payments.get("captures") or []
    wallet = (order.get("payment_source") or {}).get("paypal") or {}
    vault = (wallet.get("attributes") or {}).get("vault") or {}
    token = str(vault.get("id") or "") if vault.get("status") == "VAULTED" else ""
    label = f"PayPal {wallet.get('email_address') or ''}".strip() if token else ""
    refunded = sum(_minor(refund.get("amount"))[0] or 0
                   for refund in payments.get("refunds") or []
                   if refund.get("status") in ("COMPLETED", "PENDING"))
    if not captures:
        return OrderState(order_id=order_id, outcome=ORDER_OUTCOMES.get(status, Outcome.PENDING),
                          payer_action_url=_link(order, "payer-action", "approve"))
    capture = captures[-1]
    capture_status = str(capture.get("status") or "")
    amount, currency = _minor(capture.get("amount"))
    outcome = CAPTURE_OUTCOMES.get(capture_status, Outcome.PENDING)
    return OrderState(
        order_id=order_id, outcome=outcome, capture_id=str(capture.get("id") or ""),
        amount_minor=amount, currency=currency,
        failure_code=DECLINED_CODE if outcome == Outcome.FAILED else "",
        saved_method_token=token if outcome == Outcome.SUCCEEDED else "",
        saved_method_label=label if outcome == Outcome.SUCCEEDED else "",
        refunded_minor=refunded, payer_action_url=_link(order, "payer-action", "approve"),
    )


def _experience(payment) -> PaypalWalletExperienceContext:
    """Where PayPal sends the customer back to (our return and cancel pages)."""
    site = settings.SITE_URL
    return PaypalWalletExperienceContext(
        brand_name=settings.SITE_NAME[:127], shipping_preference="NO_SHIPPING",
        user_action="PAY_NOW",
        return_url=site + reverse("paypal:return", kwargs={"payment_id": payment.public_id}),
        cancel_url=site + reverse("paypal:cancel", kwargs={"payment_id": payment.public_id}),
    )


def _purchase_unit(payment) -> PurchaseUnitRequest:
    # custom_id carries simdesk's reference (the order); invoice_id must be unique per
    # PayPal account, so it is the payment's own id (an order may need several attempts).
    return PurchaseUnitRequest(
        amount=AmountWithBreakdown(
            currency_code=payment.currency,
            value=minor_to_decimal_string(payment.amount_minor, payment.currency)),
        custom_id=payment.reference[:127], invoice_id=str(payment.public_id),
        description=f"{settings.SITE_NAME} {payment.reference}"[:127],
    )


class PaypalGateway(PaymentGateway):
    name = "paypal"
    label = _("PayPal")
    supports_saved_methods = True

    def mode(self) -> str:
        return "live" if settings.PAYPAL_ENVIRONMENT == "live" else "test"

    # --- One-off payments ----------------------------------------------------------------

    def start_payment(self, *, payment, return_url: str, save_method: bool) -> StartResult:
        checked_return_url(return_url)
        wallet = PaypalWallet(experience_context=_experience(payment), attributes=(
            PaypalWalletAttributes(vault=PaypalWalletVaultInstruction(
                store_in_vault="ON_SUCCESS", usage_type="MERCHANT", customer_type="CONSUMER"))
            if save_method and self.supports_saved_methods else APIHelper.SKIP))
        order = call(paypal_client().orders.create_order,
                     body=OrderRequest(intent="CAPTURE", purchase_units=[_purchase_unit(payment)],
                                       payment_source=PaymentSource(paypal=wallet)),
                     paypal_request_id=request_id("create", payment.idempotency_key),
                     prefer="return=representation")
        approve = _link(order, "payer-action", "approve")
        if not order.get("id") or not approve:
            raise GatewayError(detail=f"PayPal order without id or approval link: {order!r:.300}")
        return StartResult(redirect_url=approve, gateway_payment_id=str(order["id"]))

    def capture(self, *, payment) -> OrderState:
        """Capture the payment's approved order; safe to call any number of times.

        The same ``PayPal-Request-Id`` makes a repeat return PayPal's first answer; an
        order captured earlier (its request id forgotten) is read instead. An order the
        customer has not approved yet stays pending.
        """
        order_id = payment.gateway_payment_id
        try:
            order = call(paypal_client().orders.capture_order, id=order_id,
                         paypal_request_id=request_id("capture", payment.idempotency_key),
                         prefer="return=representation")
        except PaypalApiError as error:
            if error.has_issue("ORDER_ALREADY_CAPTURED"):
                return self._order(order_id)
            if error.has_issue("ORDER_NOT_APPROVED"):
                return OrderState(order_id=order_id, outcome=Outcome.PENDING)
            if error.has_issue("PAYER_ACTION_REQUIRED") and error.link("payer-action"):
                return OrderState(order_id=order_id, outcome=Outcome.REQUIRES_ACTION,
                                  payer_action_url=error.link("payer-action"))
            if error.has_issue(*DECLINE_ISSUES):
                logger.info("paypal: capture of order %s declined: %s", order_id, error.detail)
                return OrderState(order_id=order_id, outcome=Outcome.FAILED,
                                  failure_code=DECLINED_CODE)
            raise
        return order_state(order)

    def _order(self, order_id: str) -> OrderState:
        return order_state(call(paypal_client().orders.get_order, id=order_id))

    # --- Webhooks ------------------------------------------------------------------------

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes,
                      now: datetime) -> GatewayEvent:
        fields = {field: headers.get(header) or "" for field, header in SIGNATURE_HEADERS.items()}
        if not all(fields.values()):
            raise WebhookSignatureError("missing PAYPAL-TRANSMISSION-*/CERT-URL/AUTH-ALGO headers")
        try:
            text = body.decode("utf-8")
            event = json.loads(text)
            if not isinstance(event, dict):
                raise TypeError("not an object")
        except (ValueError, TypeError) as error:
            raise WebhookMalformedError(f"not a PayPal event: {error}") from None
        fields["webhook_id"] = settings.PAYPAL_WEBHOOK_ID
        try:
            answer = verify_webhook_signature(fields=fields, event_json=text)
        except GatewayError as error:
            # Not stored and answered 400: PayPal delivers it again later.
            raise WebhookVerificationUnavailable(
                f"could not ask PayPal to verify: {error.detail}") from None
        if answer.get("verification_status") != "SUCCESS":
            raise WebhookSignatureError(
                f"PayPal says the signature is {answer.get('verification_status')!r}")
        try:
            return self._event(event)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
            raise WebhookMalformedError(f"not a PayPal event: {error!r}") from None

    def _event(self, event: dict) -> GatewayEvent:
        event_id, event_type = event["id"], event["event_type"]
        resource = event["resource"]
        if not (isinstance(event_id, str) and event_id and isinstance(event_type, str)
                and isinstance(resource, dict)):
            raise TypeError("wrong field types")
        created = event.get("create_time")
        occurred = (datetime.fromisoformat(created.replace("Z", "+00:00"))
                    if isinstance(created, str) and created else None)
        common = {"event_id": event_id, "type": event_type, "occurred_at": occurred,
                  "payload": event}
        if event_type == "CHECKOUT.ORDER.APPROVED":
            return self._approved(resource, common)
        order_id = str(((resource.get("supplementary_data") or {}).get("related_ids") or {})
                       .get("order_id") or "")
        outcome = EVENT_OUTCOMES.get(event_type)
        amount, currency = _minor(resource.get("amount")) if outcome else (None, "")
        return GatewayEvent(
            gateway_payment_id=order_id, outcome=outcome, amount_minor=amount,
            currency=currency,
            failure_code=DECLINED_CODE if outcome == Outcome.FAILED else "",
            **common)

    def _approved(self, order: dict, common: dict) -> GatewayEvent:
        """The customer approved: capture now (their browser may never come back).

        The capture is the one the return page makes (same PayPal-Request-Id, same row
        lock), made only while the payment is open: after a cancel, or once the return
        page settled it, the event moves nothing (the capture's own event follows).
        The event then carries the capture's outcome and amount.
        """
        order_id = str(order["id"])
        with transaction.atomic():
            payment = (Payment.objects.select_for_update()
                       .filter(gateway=self.name, gateway_payment_id=order_id).first())
            if payment is None or payment.status not in (PaymentStatus.PENDING,
                                                          PaymentStatus.REQUIRES_ACTION):
                # Unknown here (kept for staff), or already settled or cancelled.
                return GatewayEvent(gateway_payment_id=order_id, outcome=None, **common)
            try:
                state = self.capture(payment=payment)
            except GatewayError as error:
                raise WebhookVerificationUnavailable(
                    f"could not capture order {order_id} yet: {error.detail}") from None
        return GatewayEvent(
            gateway_payment_id=order_id, outcome=state.outcome,
            amount_minor=state.amount_minor, currency=state.currency,
            failure_code=state.failure_code, failure_message=state.failure_message,
            saved_method_token=state.saved_method_token,
            saved_method_label=state.saved_method_label, **common)

    # --- Renewals, refunds, reconciliation -----------------------------------------------

    def charge_saved_method(self, *, payment, method_token: str) -> ChargeResult:
        # The experience context is where PayPal returns the customer if it asks them to
        # act (PAYER_ACTION_REQUIRED): the same return page, which then captures.
        wallet = PaypalWallet(
            vault_id=method_token, experience_context=_experience(payment),
            stored_credential=PaypalWalletStoredCredential(
                payment_initiator="MERCHANT", usage="SUBSEQUENT",
                usage_pattern="SUBSCRIPTION_PREPAID"))
        try:
            order = call(paypal_client().orders.create_order,
                         body=OrderRequest(intent="CAPTURE",
                                           purchase_units=[_purchase_unit(payment)],
                                           payment_source=PaymentSource(paypal=wallet)),
                         paypal_request_id=request_id("create", payment.idempotency_key),
                         prefer="return=representation")
        except PaypalApiError as error:
            if error.has_issue(*DECLINE_ISSUES, "PAYER_ACTION_REQUIRED"):
                # (PAYER_ACTION_REQUIRED as an error names no order to send the payer to.)
                logger.info("paypal: vaulted charge for %s declined: %s",
                            payment.idempotency_key, error.detail)
                raise PaymentDeclined(DECLINED_MESSAGE, failure_code=DECLINED_CODE) from None
            raise
        state = order_state(order)
        if state.outcome == Outcome.PENDING and order.get("status") == "APPROVED":
            state = self.capture(payment=_WithOrder(payment, state.order_id))
        if state.outcome == Outcome.FAILED:
            raise PaymentDeclined(DECLINED_MESSAGE, failure_code=state.failure_code,
                                  gateway_payment_id=state.order_id)
        if state.outcome == Outcome.SUCCEEDED and (state.amount_minor, state.currency) != (
                payment.amount_minor, payment.currency):
            raise GatewayError(detail=f"PayPal captured {state.amount_minor} {state.currency} "
                                      f"for order {state.order_id}, not {payment.amount_minor}")
        return ChargeResult(outcome=state.outcome, gateway_payment_id=state.order_id,
                            redirect_url=(state.payer_action_url
                                          if state.outcome == Outcome.REQUIRES_ACTION else ""))

    def refund(self, *, payment, amount_minor: int, idempotency_key: str) -> RefundResult:
        state = self._order(payment.gateway_payment_id)
        if state.outcome != Outcome.SUCCEEDED or not state.capture_id:
            raise GatewayError(detail=f"PayPal order {state.order_id} has no completed capture")
        body = RefundRequest(amount=PaypalMoney(
            currency_code=payment.currency,
            value=minor_to_decimal_string(amount_minor, payment.currency)))
        refund = call(paypal_client().payments.refund_captured_payment,
                      capture_id=state.capture_id, body=body,
                      paypal_request_id=request_id("refund", idempotency_key),
                      prefer="return=representation")
        if refund.get("status") not in ("COMPLETED", "PENDING") or not refund.get("id"):
            raise GatewayError(detail=f"PayPal refund {refund.get('id')} is "
                                      f"{refund.get('status')!r}")
        refunded, _currency = _minor(refund.get("amount"))
        return RefundResult(refund_id=str(refund["id"]),
                            amount_minor=amount_minor if refunded is None else refunded)

    def query_status(self, *, payment) -> StatusResult:
        """The order as PayPal has it now. Reading never captures. An order PayPal no
        longer knows (an unapproved order expires after a few hours) was never paid:
        cancelled, so paying again starts a new one."""
        try:
            state = self._order(payment.gateway_payment_id)
        except PaypalApiError as error:
            if error.status_code == 404 and error.name == "RESOURCE_NOT_FOUND":
                return StatusResult(outcome=Outcome.CANCELLED, failure_code="cancelled")
            raise
        return StatusResult(outcome=state.outcome, failure_code=state.failure_code,
                            failure_message=state.failure_message,
                            saved_method_token=state.saved_method_token,
                            saved_method_label=state.saved_method_label,
                            refunded_minor=state.refunded_minor)


class WebhookVerificationUnavailable(WebhookRejected):
    """PayPal could not be asked (or could not capture) now; rejected so PayPal retries."""

    code = "verification_unavailable"


@dataclass(frozen=True)
class _WithOrder:
    """A payment seen with the order id PayPal just gave it (not saved yet)."""

    payment: Any
    gateway_payment_id: str

    @property
    def idempotency_key(self) -> str:
        return self.payment.idempotency_key
