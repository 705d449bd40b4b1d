"""The sandbox gateway: a real implementation of ``PaymentGateway`` with its own state.

It hosts a pay page at ``/sandbox/pay/<id>``, remembers saved test cards for
renewals, refunds, answers status queries, and reports every outcome to simdesk
as a signed webhook on the same endpoint real gateways use. No money moves.
"""

import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
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
from .cards import test_card_find
from .models import SandboxCharge, SandboxChargeStatus, SandboxPaymentMethod, SandboxRefund
from .services import FAILURE_MESSAGES, sandbox_event_emit
from .signing import SIGNATURE_HEADER, verify

OUTCOMES = {
    SandboxChargeStatus.OPEN: Outcome.PENDING,
    SandboxChargeStatus.REQUIRES_AUTHENTICATION: Outcome.REQUIRES_ACTION,
    SandboxChargeStatus.SUCCEEDED: Outcome.SUCCEEDED,
    SandboxChargeStatus.DECLINED: Outcome.FAILED,
    SandboxChargeStatus.CANCELLED: Outcome.CANCELLED,
}
EVENT_OUTCOMES = {
    "charge.succeeded": Outcome.SUCCEEDED,
    "charge.declined": Outcome.FAILED,
    "charge.cancelled": Outcome.CANCELLED,
    "charge.requires_authentication": Outcome.REQUIRES_ACTION,
    "charge.pending": Outcome.PENDING,
}


def _now() -> datetime:
    return datetime.now(UTC)


def _charge_for(payment) -> SandboxCharge:
    charge = SandboxCharge.objects.filter(idempotency_key=payment.idempotency_key).first()
    if charge is None or charge.gateway_payment_id != payment.gateway_payment_id:
        raise GatewayError(detail=f"sandbox has no charge {payment.gateway_payment_id!r}")
    return charge


class SandboxGateway(PaymentGateway):
    name = "sandbox"
    label = _("Test card (sandbox)")

    def start_payment(self, *, payment, return_url: str, save_method: bool) -> StartResult:
        return_url = checked_return_url(return_url)
        charge, _created = SandboxCharge.objects.get_or_create(
            idempotency_key=payment.idempotency_key,
            defaults={"merchant": settings.SITE_NAME, "description": payment.reference,
                      "customer_ref": str(payment.customer_id),
                      "amount_minor": payment.amount_minor, "currency": payment.currency,
                      "return_url": return_url, "save_method": save_method},
        )
        return StartResult(
            redirect_url=reverse("sandbox:pay", kwargs={"charge_id": charge.public_id}),
            gateway_payment_id=charge.gateway_payment_id,
        )

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes,
                      now: datetime) -> GatewayEvent:
        verify(header=headers.get(SIGNATURE_HEADER), body=body, now=now)
        try:
            payload = json.loads(body.decode("utf-8"))
            data = payload["data"]
            event_id, event_type = payload["id"], payload["type"]
            charge_id = data["charge"]
            method = data.get("payment_method") or {}
            if not (isinstance(event_id, str) and event_id and isinstance(charge_id, str)
                    and isinstance(event_type, str) and isinstance(method, dict)):
                raise TypeError("wrong field types")
            amount = data.get("amount_minor")
            created = payload.get("created")
            return GatewayEvent(
                event_id=event_id, type=event_type, gateway_payment_id=charge_id,
                outcome=EVENT_OUTCOMES.get(event_type),
                failure_code=str(data.get("failure_code") or ""),
                failure_message=str(data.get("failure_message") or ""),
                saved_method_token=str(method.get("token") or ""),
                saved_method_label=str(method.get("label") or ""),
                amount_minor=amount if isinstance(amount, int) else None,
                currency=str(data.get("currency") or ""),
                occurred_at=(datetime.fromtimestamp(created, UTC)
                             if isinstance(created, int) else None),
                payload=payload,
            )
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as error:
            raise WebhookMalformedError(f"not a sandbox event: {error}") from None

    def charge_saved_method(self, *, payment, method_token: str) -> ChargeResult:
        method = SandboxPaymentMethod.objects.filter(token=method_token).first()
        if method is None or method.customer_ref != str(payment.customer_id):
            raise GatewayError(detail=f"sandbox has no method {method_token!r} for this customer")
        card = test_card_find(method.test_card)
        now = _now()
        with transaction.atomic():
            try:
                with transaction.atomic():
                    charge = SandboxCharge.objects.create(
                        idempotency_key=payment.idempotency_key, merchant=settings.SITE_NAME,
                        description=payment.reference, customer_ref=str(payment.customer_id),
                        amount_minor=payment.amount_minor, currency=payment.currency,
                        off_session=True, method=method, test_card=method.test_card)
                    created = True
            except IntegrityError:
                charge = SandboxCharge.objects.get(idempotency_key=payment.idempotency_key)
                created = False
            if created:
                if card is None or card.behaviour in ("decline", "succeed_then_decline"):
                    charge.status = SandboxChargeStatus.DECLINED
                    charge.failure_code = card.failure_code if card else "card_declined"
                    charge.finished_at = now
                elif card.behaviour == "authenticate":
                    charge.status = SandboxChargeStatus.REQUIRES_AUTHENTICATION
                else:
                    charge.status = SandboxChargeStatus.SUCCEEDED
                    charge.finished_at = now
                charge.save(update_fields=["status", "failure_code", "finished_at",
                                           "updated_at"])
                # Real vendors report off-session charges by webhook too.
                sandbox_event_emit(charge=charge, now=now)
        if charge.status == SandboxChargeStatus.DECLINED:
            raise PaymentDeclined(failure_code=charge.failure_code or "card_declined",
                                  gateway_payment_id=charge.gateway_payment_id)
        redirect = ""
        if charge.status == SandboxChargeStatus.REQUIRES_AUTHENTICATION:
            redirect = reverse("sandbox:authenticate", kwargs={"charge_id": charge.public_id})
        return ChargeResult(outcome=OUTCOMES[charge.status],
                            gateway_payment_id=charge.gateway_payment_id, redirect_url=redirect)

    def refund(self, *, payment, amount_minor: int, idempotency_key: str) -> RefundResult:
        existing = SandboxRefund.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return RefundResult(refund_id=existing.refund_id, amount_minor=existing.amount_minor)
        with transaction.atomic():
            charge = SandboxCharge.objects.select_for_update().get(pk=_charge_for(payment).pk)
            if charge.status != SandboxChargeStatus.SUCCEEDED:
                raise GatewayError(detail=f"sandbox charge {charge.public_id} is {charge.status}")
            if amount_minor <= 0 or charge.refunded_minor + amount_minor > charge.amount_minor:
                raise GatewayError(detail=f"refund of {amount_minor} exceeds what is left")
            refund = SandboxRefund.objects.create(
                charge=charge, refund_id=f"sbxre_{secrets.token_hex(12)}",
                idempotency_key=idempotency_key, amount_minor=amount_minor, created_at=_now())
            charge.refunded_minor += amount_minor
            charge.save(update_fields=["refunded_minor", "updated_at"])
        return RefundResult(refund_id=refund.refund_id, amount_minor=amount_minor)

    def query_status(self, *, payment) -> StatusResult:
        charge = _charge_for(payment)
        method = charge.method
        return StatusResult(
            outcome=OUTCOMES[charge.status], failure_code=charge.failure_code,
            failure_message=FAILURE_MESSAGES.get(charge.failure_code, ""),
            saved_method_token=method.token if method else "",
            saved_method_label=method.label if method else "",
            refunded_minor=charge.refunded_minor,
        )
