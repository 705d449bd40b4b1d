"""Starting, confirming, charging and refunding payments.

Gateway calls that create money movements happen while the payment row is
locked, so one idempotency key never reaches the gateway twice at once; the
gateway's own idempotency (by the same key) covers a crash in between.
"""

import logging
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import Conflict, ServiceError

from ..gateways import get_gateway
from ..gateways.base import GatewayError, Outcome, PaymentDeclined
from ..models import Payment, PaymentStatus, Refund, SavedPaymentMethod
from ..signals import payment_failed, payment_refunded, payment_requires_action, payment_succeeded

logger = logging.getLogger(__name__)

CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


def _check_amount(amount_minor: int, currency: str) -> None:
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool) or amount_minor <= 0:
        raise ServiceError(_("The amount to pay must be a positive whole number of minor "
                             "units."), code="invalid_amount")
    if not CURRENCY_RE.match(currency or "") or currency not in settings.CURRENCIES:
        raise ServiceError(_("This currency is not accepted."), code="invalid_currency")


def _send_on_commit(signal, payment: Payment, **extra) -> None:
    """Send ``signal`` once the current transaction commits.

    Receivers run after the payment change is durable; one failing receiver is
    logged with the payment id and does not hide the change from the others.
    """

    def send():
        for receiver, result in signal.send_robust(sender=Payment, payment=payment, **extra):
            if isinstance(result, Exception):
                logger.error("payments: receiver %r failed for payment %s", receiver,
                             payment.public_id, exc_info=result)

    transaction.on_commit(send)


def payment_open(*, customer, gateway: str, amount_minor: int, currency: str, reference: str,
                 idempotency_key: str, return_url: str, save_method: bool = False,
                 now: datetime) -> Payment:
    """Record a payment (pending, not yet at the gateway) for ``idempotency_key``.

    The first half of ``payment_start``, for callers that must record the attempt
    inside their own short transaction and reach the gateway after it commits.
    Same rules: the same key returns the same payment; the same key with different
    details is a Conflict. Safe to call twice.
    """
    gw = get_gateway(gateway)
    _check_amount(amount_minor, currency)
    if not idempotency_key or not reference:
        raise ServiceError(_("A payment needs a reference and an idempotency key."),
                           code="invalid")
    payment, created = Payment.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={"customer": customer, "gateway": gw.name, "amount_minor": amount_minor,
                  "currency": currency, "reference": reference, "return_url": return_url,
                  "save_method": save_method, "status_changed_at": now},
    )
    if not created and (payment.customer_id != customer.pk or payment.gateway != gw.name
                        or payment.amount_minor != amount_minor or payment.currency != currency
                        or payment.reference != reference):
        raise Conflict(_("This payment was already started with different details."),
                       code="idempotency_conflict")
    return payment


def payment_start(*, customer, gateway: str, amount_minor: int, currency: str, reference: str,
                  idempotency_key: str, return_url: str, save_method: bool = False,
                  now: datetime) -> tuple[Payment, str]:
    """Create a payment and start it at ``gateway``; return it and where to send the browser.

    Rule: one idempotency key is one payment and at most one gateway call. Calling
    again with the same key returns the same payment and pay page (safe to call
    twice); the same key with a different customer, amount or reference is a
    Conflict. If the gateway fails (GatewayError) the payment stays pending and a
    retry with the same key tries the gateway again.
    """
    gw = get_gateway(gateway)
    payment = payment_open(customer=customer, gateway=gw.name, amount_minor=amount_minor,
                           currency=currency, reference=reference,
                           idempotency_key=idempotency_key, return_url=return_url,
                           save_method=save_method, now=now)
    with transaction.atomic():
        # FOR NO KEY UPDATE: it still admits one start per key at a time, but rows that
        # merely point at the payment (its order, confirmed meanwhile) are not held up
        # for as long as the gateway takes to answer.
        payment = Payment.objects.select_for_update(no_key=True).get(pk=payment.pk)
        if payment.redirect_url:
            return payment, payment.redirect_url
        if payment.status != PaymentStatus.PENDING:
            raise Conflict(_("This payment is already %(status)s.")
                           % {"status": payment.get_status_display()}, code="payment_closed")
        result = gw.start_payment(payment=payment, return_url=return_url,
                                  save_method=save_method)
        payment.gateway_payment_id = result.gateway_payment_id
        payment.redirect_url = result.redirect_url
        payment.save(update_fields=["gateway_payment_id", "redirect_url", "updated_at"])
    logger.info("payments: started %s (%s) for %s", payment.public_id, payment.gateway_payment_id,
                reference)
    return payment, payment.redirect_url


def _save_method(*, payment: Payment, token: str, label: str) -> SavedPaymentMethod | None:
    if not token or not payment.save_method:
        return None
    method, _created = SavedPaymentMethod.objects.get_or_create(
        gateway=payment.gateway, token=token,
        defaults={"customer": payment.customer, "label": label[:100]},
    )
    if method.customer_id != payment.customer_id:
        # A token belongs to one customer; never attach it to someone else.
        logger.error("payments: token of method %s offered for payment %s of another customer",
                     method.pk, payment.public_id)
        return None
    if payment.saved_method_id is None:
        payment.saved_method = method
        payment.save(update_fields=["saved_method", "updated_at"])
    return method


def payment_apply_outcome(*, payment: Payment, outcome: str, source: str, now: datetime,
                          failure_code: str = "", failure_message: str = "",
                          saved_method_token: str = "", saved_method_label: str = "") -> bool:
    """Move ``payment`` to what the gateway says happened; True if its status changed.

    Rules: idempotent (the same outcome twice changes nothing the second time) and
    order-proof: a late "pending" or "requires_action" never undoes a success or a
    failure, and a late failure never undoes a success. A success after a failure
    or cancellation wins (the money was taken). A method the customer asked to save
    is saved even if the success was already known. Signals are sent after commit.
    Runs in its own transaction (or the caller's) and locks the payment row.
    """
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if outcome == Outcome.SUCCEEDED:
            _save_method(payment=payment, token=saved_method_token, label=saved_method_label)
        target = {
            Outcome.SUCCEEDED: PaymentStatus.SUCCEEDED,
            Outcome.FAILED: PaymentStatus.FAILED,
            Outcome.CANCELLED: PaymentStatus.CANCELLED,
            Outcome.REQUIRES_ACTION: PaymentStatus.REQUIRES_ACTION,
        }.get(outcome)
        if target is None or payment.status == target or not payment.can_move_to(target):
            return False
        if target in (PaymentStatus.FAILED, PaymentStatus.CANCELLED):
            payment.failure_code = (failure_code or
                                    ("cancelled" if target == PaymentStatus.CANCELLED
                                     else "card_declined"))[:50]
            payment.failure_message = str(failure_message)[:300]
            payment.save(update_fields=["failure_code", "failure_message", "updated_at"])
        payment.transition(target, at=now, source=source)
        if target == PaymentStatus.SUCCEEDED:
            _send_on_commit(payment_succeeded, payment)
        elif target == PaymentStatus.REQUIRES_ACTION:
            _send_on_commit(payment_requires_action, payment)
        else:
            _send_on_commit(payment_failed, payment)
    logger.info("payments: %s is now %s (%s)", payment.public_id, target, source)
    return True


def payment_charge_saved_method(*, customer, method: SavedPaymentMethod, amount_minor: int,
                                currency: str, reference: str, idempotency_key: str,
                                now: datetime) -> Payment:
    """Charge a saved method off-session (renewals); return the payment with its outcome.

    Rule: synchronous: the returned payment is succeeded, failed (declined, with a
    reason for the customer), or requires_action (the bank wants the customer).
    One idempotency key is one charge: calling again returns the same payment
    without charging again. A GatewayError leaves the payment pending (the
    outcome is unknown; reconciliation asks the gateway later) and is raised.
    """
    if method.customer_id != customer.pk or method.removed_at is not None:
        raise ServiceError(_("This payment method is not available. Choose another one."),
                           code="method_unavailable")
    gw = get_gateway(method.gateway)
    _check_amount(amount_minor, currency)
    payment, created = Payment.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={"customer": customer, "gateway": gw.name, "amount_minor": amount_minor,
                  "currency": currency, "reference": reference, "off_session": True,
                  "saved_method": method, "status_changed_at": now},
    )
    if not created and (payment.customer_id != customer.pk or payment.reference != reference
                        or payment.amount_minor != amount_minor or payment.currency != currency):
        raise Conflict(_("This payment was already started with different details."),
                       code="idempotency_conflict")
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != PaymentStatus.PENDING or payment.gateway_payment_id:
            return payment
        try:
            result = gw.charge_saved_method(payment=payment, method_token=method.token)
        except PaymentDeclined as declined:
            payment.gateway_payment_id = declined.gateway_payment_id
            payment.save(update_fields=["gateway_payment_id", "updated_at"])
            payment_apply_outcome(payment=payment, outcome=Outcome.FAILED, source="charge",
                                  failure_code=declined.failure_code,
                                  failure_message=str(declined.message), now=now)
        else:
            payment.gateway_payment_id = result.gateway_payment_id
            payment.redirect_url = result.redirect_url
            payment.save(update_fields=["gateway_payment_id", "redirect_url", "updated_at"])
            payment_apply_outcome(payment=payment, outcome=result.outcome, source="charge",
                                  failure_code=("authentication_required"
                                                if result.outcome == Outcome.REQUIRES_ACTION
                                                else ""), now=now)
    payment.refresh_from_db()
    return payment


def payment_refund(*, payment: Payment, amount_minor: int, idempotency_key: str,
                   now: datetime, reason: str = "") -> Refund:
    """Give back ``amount_minor`` (all or part) of a succeeded payment.

    Rule: the total refunded never exceeds the amount paid (the payment row is
    locked while the gateway is asked). The same idempotency key returns the same
    refund without refunding again (safe to call twice). The payment becomes
    partially_refunded or refunded; ``payment_refunded`` is sent after commit.
    """
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        if existing.payment_id != payment.pk or existing.amount_minor != amount_minor:
            raise Conflict(_("This refund was already made with different details."),
                           code="idempotency_conflict")
        return existing
    gw = get_gateway(payment.gateway)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if not isinstance(amount_minor, int) or amount_minor <= 0:
            raise ServiceError(_("A refund must be a positive amount."), code="invalid_amount")
        if amount_minor > payment.refundable_minor:
            raise Conflict(_("At most %(amount)s of this payment can be refunded.")
                           % {"amount": payment.refundable_minor}, code="refund_too_large")
        result = gw.refund(payment=payment, amount_minor=amount_minor,
                           idempotency_key=idempotency_key)
        refund = Refund.objects.create(payment=payment, amount_minor=amount_minor,
                                       idempotency_key=idempotency_key,
                                       gateway_refund_id=result.refund_id, reason=reason[:200],
                                       refunded_at=now)
        payment.refunded_minor += amount_minor
        payment.save(update_fields=["refunded_minor", "updated_at"])
        target = (PaymentStatus.REFUNDED if payment.refunded_minor == payment.amount_minor
                  else PaymentStatus.PARTIALLY_REFUNDED)
        if payment.status != target:
            payment.transition(target, at=now, source=f"refund:{refund.public_id}")
        _send_on_commit(payment_refunded, payment, refund=refund)
    return refund


def payment_reconcile(*, payment: Payment, now: datetime) -> bool:
    """Ask the gateway about a payment whose outcome is unknown and apply its answer.

    Rule: the answer is applied like a webhook (idempotent, order-proof); a
    gateway that does not answer leaves the payment as it was, to be asked again
    at the next sweep. Returns True if the status changed. Safe to call twice.
    """
    if not payment.gateway_payment_id or payment.status not in (PaymentStatus.PENDING,
                                                                 PaymentStatus.REQUIRES_ACTION):
        return False
    Payment.objects.filter(pk=payment.pk).update(last_checked_at=now)
    try:
        status = get_gateway(payment.gateway).query_status(payment=payment)
    except GatewayError as error:
        logger.warning("payments: reconcile of %s failed: %s", payment.public_id, error.detail)
        return False
    return payment_apply_outcome(
        payment=payment, outcome=status.outcome, source="reconcile", now=now,
        failure_code=status.failure_code, failure_message=status.failure_message,
        saved_method_token=status.saved_method_token,
        saved_method_label=status.saved_method_label,
    )


def saved_method_remove(*, method: SavedPaymentMethod, now: datetime) -> None:
    """Stop using a saved method for new charges (kept for the history). Safe to call twice."""
    if method.removed_at is None:
        method.removed_at = now
        method.save(update_fields=["removed_at", "updated_at"])


def reconcile_after() -> timedelta:
    return timedelta(minutes=getattr(settings, "PAYMENTS_RECONCILE_AFTER_MINUTES", 10))
