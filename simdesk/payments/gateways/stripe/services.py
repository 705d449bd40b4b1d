"""What the customer does on simdesk's Stripe pages: pay with a card, come back after 3-D Secure.

Both apply Stripe's answer to the payment at once (``payment_apply_outcome``, as
reconciliation does), so the page the customer returns to already shows the
order paid; the webhooks that follow change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import ServiceError

from ...models import Payment, PaymentStatus
from ...services.payments import payment_apply_outcome
from ..base import GatewayError
from .gateway import StripeGateway
from .mapping import PAYMENT_METHOD_RE, status_of


@dataclass(frozen=True)
class PayState:
    """The payment after the customer's step, and the client secret if Stripe.js must act."""

    payment: Payment
    client_secret: str = ""
    payment_method: str = ""


def _gateway() -> StripeGateway:
    from .. import get_gateway

    gateway = get_gateway(StripeGateway.name)
    assert isinstance(gateway, StripeGateway)
    return gateway


def stripe_return_url(payment: Payment) -> str:
    """Where Stripe sends the browser back after a 3-D Secure redirect (absolute)."""
    return settings.SITE_URL + reverse("stripe:return", kwargs={"payment_id": payment.public_id})


def _apply(payment: Payment, intent: dict[str, Any], *, source: str, now: datetime) -> PayState:
    status = status_of(intent)
    label = status.saved_method_label
    if status.saved_method_token and not label:
        label = _gateway().saved_method_label(status.saved_method_token)
    payment_apply_outcome(payment=payment, outcome=status.outcome, source=source, now=now,
                          failure_code=status.failure_code,
                          failure_message=status.failure_message,
                          saved_method_token=status.saved_method_token,
                          saved_method_label=label)
    payment.refresh_from_db()
    secret = ""
    if payment.status == PaymentStatus.REQUIRES_ACTION:
        secret = str(intent.get("client_secret") or "")
    method = intent.get("payment_method")
    method_id = method.get("id") if isinstance(method, dict) else method
    return PayState(payment=payment, client_secret=secret, payment_method=method_id or "")


def stripe_pay_confirm(*, payment: Payment, payment_method_id: str, now: datetime) -> PayState:
    """The customer entered a card (tokenised by Stripe.js as ``payment_method_id``): pay.

    Rules: only a pending payment is confirmed; pressing pay again, in another tab
    too, confirms nothing twice (the payment row is locked over the call and an
    intent already confirmed is only read). A decline leaves the payment failed
    with a reason for the customer. Stripe not answering raises GatewayError and
    leaves the payment pending.
    """
    if not PAYMENT_METHOD_RE.match(payment_method_id or ""):
        raise ServiceError(_("The card could not be read. Enter it again."),
                           code="invalid_payment_method")
    gateway = _gateway()
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != PaymentStatus.PENDING:
            if payment.status == PaymentStatus.REQUIRES_ACTION:
                return stripe_pay_refresh(payment=payment, now=now)
            return PayState(payment=payment)
        intent = gateway.confirm(payment=payment, payment_method_id=payment_method_id,
                                 return_url=stripe_return_url(payment))
        return _apply(payment, intent, source="stripe:confirm", now=now)


def stripe_pay_refresh(*, payment: Payment, now: datetime) -> PayState:
    """Ask Stripe about the payment (after 3-D Secure, or to show its page) and apply it.

    Safe to call any number of times. A payment whose outcome is already known is
    not asked about again.
    """
    if payment.status not in (PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION):
        return PayState(payment=payment)
    if not payment.gateway_payment_id:
        raise GatewayError(detail=f"payment {payment.public_id} was never started at Stripe")
    intent = _gateway().intent(payment=payment)
    return _apply(payment, intent, source="stripe:return", now=now)
