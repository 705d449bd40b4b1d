"""Payments, their status history, refunds, saved payment methods and inbound webhooks.

A payment's status moves only through ``Payment.transition`` (a table of allowed
moves, a ``PaymentStatusChange`` row per move). Amounts are integer minor units.
"""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import Conflict
from simdesk.core.models import BaseModel

# The sandbox gateway keeps its own state in this app's tables.
from .gateways.sandbox.models import (  # noqa: F401
    SandboxCharge,
    SandboxPaymentMethod,
    SandboxRefund,
    SandboxWebhookDelivery,
)


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    REQUIRES_ACTION = "requires_action", _("Needs your confirmation")
    SUCCEEDED = "succeeded", _("Paid")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")


PAYMENT_TRANSITIONS: dict[str, set[str]] = {
    PaymentStatus.PENDING: {PaymentStatus.REQUIRES_ACTION, PaymentStatus.SUCCEEDED,
                            PaymentStatus.FAILED, PaymentStatus.CANCELLED},
    PaymentStatus.REQUIRES_ACTION: {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED,
                                    PaymentStatus.CANCELLED},
    PaymentStatus.SUCCEEDED: {PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED},
    PaymentStatus.PARTIALLY_REFUNDED: {PaymentStatus.REFUNDED},
    # A success reported after a failure or cancellation means money was taken:
    # the gateway's word wins, so the payment (and what it pays for) goes through.
    PaymentStatus.FAILED: {PaymentStatus.SUCCEEDED},
    PaymentStatus.CANCELLED: {PaymentStatus.SUCCEEDED},
    PaymentStatus.REFUNDED: set(),
}

# Known failure codes with a reason the customer can act on, translated when shown.
FAILURE_REASONS = {
    "card_declined": _("Your card was declined. Try another card or contact your bank."),
    "insufficient_funds": _("Your card has insufficient funds. Try another card."),
    "authentication_failed": _("The card could not be authenticated. Try again or use "
                               "another card."),
    "authentication_required": _("Your bank asks you to confirm this payment."),
    "cancelled": _("The payment was cancelled."),
    "method_unavailable": _("The saved payment method can no longer be used. Add a new one."),
    "paypal_declined": _("PayPal declined this payment. Choose another way to pay in PayPal, "
                         "or another payment method."),
}


class Payment(BaseModel):
    """One attempt to take an amount from a customer through one gateway."""

    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="payments", verbose_name=_("customer"))
    gateway = models.CharField(_("gateway"), max_length=30)
    amount_minor = models.PositiveBigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=20, choices=PaymentStatus.choices,
                              default=PaymentStatus.PENDING, db_index=True)
    reference = models.CharField(
        _("reference"), max_length=100, db_index=True,
        help_text=_('What the payment is for, e.g. "order:<order id>".'))
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    gateway_payment_id = models.CharField(_("gateway payment id"), max_length=100, blank=True,
                                          db_index=True)
    redirect_url = models.CharField(_("pay page"), max_length=500, blank=True)
    return_url = models.CharField(_("return address"), max_length=500, blank=True)
    save_method = models.BooleanField(_("save the payment method"), default=False)
    saved_method = models.ForeignKey("SavedPaymentMethod", on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="payments",
                                     verbose_name=_("saved method"))
    off_session = models.BooleanField(_("charged off-session"), default=False)
    failure_code = models.CharField(_("failure code"), max_length=50, blank=True)
    failure_message = models.CharField(_("failure message"), max_length=300, blank=True)
    succeeded_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    refunded_minor = models.PositiveBigIntegerField(_("refunded (minor units)"), default=0)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    last_checked_at = models.DateTimeField(
        _("last asked the gateway"), null=True, blank=True,
        help_text=_("When reconciliation last asked the gateway about this payment."))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.CheckConstraint(condition=Q(refunded_minor__lte=models.F("amount_minor")),
                                   name="payment_refund_not_above_amount"),
        ]

    def __str__(self) -> str:
        return f"{self.gateway}:{self.public_id} {self.amount_minor} {self.currency} {self.status}"

    @property
    def failure_reason(self) -> str:
        """A reason for the customer, in the active language."""
        if self.failure_code in FAILURE_REASONS:
            return str(FAILURE_REASONS[self.failure_code])
        return self.failure_message or str(FAILURE_REASONS["card_declined"])

    @property
    def refundable_minor(self) -> int:
        if self.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED):
            return 0
        return self.amount_minor - self.refunded_minor

    def can_move_to(self, to: str) -> bool:
        return to in PAYMENT_TRANSITIONS[self.status]

    def transition(self, to: str, *, at: datetime, source: str = "",
                   note: str = "") -> "PaymentStatusChange":
        """Move to ``to`` if the table allows it, leaving a history row; Conflict otherwise.

        The caller saves the other fields it changed; this saves status fields only.
        """
        if not self.can_move_to(to):
            raise Conflict(
                _("A payment that is %(from)s cannot become %(to)s.")
                % {"from": PaymentStatus(self.status).label, "to": PaymentStatus(to).label}
            )
        previous = self.status
        self.status = to
        self.status_changed_at = at
        fields = ["status", "status_changed_at", "updated_at"]
        if to == PaymentStatus.SUCCEEDED and self.succeeded_at is None:
            self.succeeded_at = at
            fields.append("succeeded_at")
        self.save(update_fields=fields)
        return PaymentStatusChange.objects.create(payment=self, from_status=previous,
                                                  to_status=to, at=at, source=source[:100],
                                                  note=note[:300])


class PaymentStatusChange(models.Model):
    """History of a payment: every status move with what caused it."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="history")
    from_status = models.CharField(max_length=20)
    to_status = models.CharField(max_length=20)
    at = models.DateTimeField()
    source = models.CharField(max_length=100, blank=True,
                              help_text=_('e.g. "webhook:evt_…", "reconcile", "charge".'))
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("payment status change")
        verbose_name_plural = _("payment status changes")

    def __str__(self) -> str:
        return f"{self.payment_id} {self.from_status}->{self.to_status}"


class Refund(BaseModel):
    """Money given back on a payment; one row per refund, idempotent by key."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.PositiveBigIntegerField(_("amount (minor units)"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    gateway_refund_id = models.CharField(_("gateway refund id"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    refunded_at = models.DateTimeField(_("refunded at"))

    class Meta:
        ordering = ["-refunded_at"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")

    def __str__(self) -> str:
        return f"refund {self.amount_minor} of {self.payment_id}"


class SavedPaymentMethod(BaseModel):
    """A gateway token for a customer's card, kept for off-session renewals."""

    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                 related_name="payment_methods", verbose_name=_("customer"))
    gateway = models.CharField(_("gateway"), max_length=30)
    token = models.CharField(_("token"), max_length=200)
    label = models.CharField(_("label"), max_length=100, blank=True)
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("saved payment method")
        verbose_name_plural = _("saved payment methods")
        constraints = [
            models.UniqueConstraint(fields=["gateway", "token"],
                                    name="saved_method_gateway_token_unique"),
        ]

    def __str__(self) -> str:
        return self.label or self.token


class WebhookStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Failed")


class InboundWebhookEvent(models.Model):
    """A verified webhook, stored before it is processed; the pair (gateway, event_id)
    is unique, so a delivery repeated by the gateway is recognised and not processed twice."""

    gateway = models.CharField(_("gateway"), max_length=30)
    event_id = models.CharField(_("event id"), max_length=200)
    type = models.CharField(_("type"), max_length=100, blank=True)
    gateway_payment_id = models.CharField(_("gateway payment id"), max_length=100, blank=True,
                                          db_index=True)
    # The vendor's event in simdesk's words, so processing (and its retries)
    # needs neither the signature nor the vendor's payload format again.
    outcome = models.CharField(_("outcome"), max_length=20, blank=True)
    failure_code = models.CharField(_("failure code"), max_length=50, blank=True)
    failure_message = models.CharField(_("failure message"), max_length=300, blank=True)
    saved_method_token = models.CharField(_("saved method token"), max_length=200, blank=True)
    saved_method_label = models.CharField(_("saved method label"), max_length=100, blank=True)
    amount_minor = models.BigIntegerField(_("amount (minor units)"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=12, choices=WebhookStatus.choices,
                              default=WebhookStatus.RECEIVED, db_index=True)
    attempts = models.PositiveIntegerField(_("processing attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    received_at = models.DateTimeField(_("received at"))
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True,
                                           db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("inbound webhook event")
        verbose_name_plural = _("inbound webhook events")
        constraints = [
            models.UniqueConstraint(fields=["gateway", "event_id"],
                                    name="webhook_event_gateway_event_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.gateway}:{self.event_id} {self.type} {self.status}"
