"""The sandbox gateway's own state: what a real vendor keeps on its side.

simdesk's payment tables never read these; the sandbox talks to simdesk only
through the gateway interface and signed webhooks, like a real vendor.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from simdesk.core.models import BaseModel


class SandboxChargeStatus(models.TextChoices):
    OPEN = "open", _("Waiting for the customer")
    REQUIRES_AUTHENTICATION = "requires_authentication", _("Waiting for authentication")
    SUCCEEDED = "succeeded", _("Paid")
    DECLINED = "declined", _("Declined")
    CANCELLED = "cancelled", _("Cancelled")


SANDBOX_FINAL = {SandboxChargeStatus.SUCCEEDED, SandboxChargeStatus.DECLINED,
                 SandboxChargeStatus.CANCELLED}


class SandboxCharge(BaseModel):
    """A charge at the sandbox; ``public_id`` is the opaque id of its hosted pay page."""

    idempotency_key = models.CharField(max_length=200, unique=True)
    merchant = models.CharField(max_length=100)
    description = models.CharField(max_length=200, blank=True)
    customer_ref = models.CharField(max_length=100)
    amount_minor = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3)
    return_url = models.CharField(max_length=500, blank=True)
    save_method = models.BooleanField(default=False)
    off_session = models.BooleanField(default=False)
    status = models.CharField(max_length=24, choices=SandboxChargeStatus.choices,
                              default=SandboxChargeStatus.OPEN)
    test_card = models.CharField(max_length=19, blank=True)
    failure_code = models.CharField(max_length=50, blank=True)
    method = models.ForeignKey("SandboxPaymentMethod", on_delete=models.SET_NULL, null=True,
                               blank=True, related_name="charges")
    refunded_minor = models.PositiveBigIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sandbox charge")
        verbose_name_plural = _("sandbox charges")

    def __str__(self) -> str:
        return f"sandbox charge {self.public_id} {self.status}"

    @property
    def gateway_payment_id(self) -> str:
        return f"sbx_{self.public_id.hex}"


class SandboxPaymentMethod(models.Model):
    """A test card the sandbox remembered for off-session charges."""

    token = models.CharField(max_length=60, unique=True)
    customer_ref = models.CharField(max_length=100)
    test_card = models.CharField(max_length=19)
    label = models.CharField(max_length=100)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("sandbox payment method")
        verbose_name_plural = _("sandbox payment methods")

    def __str__(self) -> str:
        return self.label


class SandboxRefund(models.Model):
    charge = models.ForeignKey(SandboxCharge, on_delete=models.CASCADE, related_name="refunds")
    refund_id = models.CharField(max_length=60, unique=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    amount_minor = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("sandbox refund")
        verbose_name_plural = _("sandbox refunds")

    def __str__(self) -> str:
        return self.refund_id


class SandboxDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    GAVE_UP = "gave_up", _("Given up")


class SandboxWebhookDelivery(models.Model):
    """Outbox of the sandbox's webhooks to simdesk, one row per copy to deliver.

    A sender claims a row by moving ``claimed_until`` forward with a conditional
    UPDATE, so the on-commit attempt, the worker and the sweep never send one
    copy at the same time; a failed copy is retried with backoff.
    """

    event_id = models.CharField(max_length=60)
    copy = models.PositiveSmallIntegerField(default=0, help_text=_("0 for the first copy; "
                                                                   "1 for a duplicate."))
    event_type = models.CharField(max_length=60)
    body = models.TextField()
    status = models.CharField(max_length=12, choices=SandboxDeliveryStatus.choices,
                              default=SandboxDeliveryStatus.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sandbox webhook delivery")
        verbose_name_plural = _("sandbox webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["event_id", "copy"],
                                    name="sandbox_delivery_event_copy_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}#{self.copy} {self.status}"
