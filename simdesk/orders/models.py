"""Orders: one purchase of one plan for one card (or for a new eSIM), from checkout to period.

An order's status moves only through ``Order.transition`` (and the named methods
on top of it), which checks the table of allowed moves and leaves an
``OrderEvent``. One order makes at most one period (``period`` is one-to-one and
the period's ``source`` is ``order:<public_id>``).
"""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import Conflict
from simdesk.core.models import BaseModel
from simdesk.core.money import Money


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Waiting for payment")
    PAID = "paid", _("Paid")
    FULFILLED = "fulfilled", _("Completed")
    PAYMENT_FAILED = "payment_failed", _("Payment failed")
    EXPIRED = "expired", _("Expired")
    REFUNDED = "refunded", _("Refunded")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")


S = OrderStatus
ORDER_TRANSITIONS: dict[str, set[str]] = {
    S.PENDING_PAYMENT: {S.PAID, S.PAYMENT_FAILED, S.EXPIRED},
    # A declined customer may try again (back to pending with a new attempt); a payment
    # confirmed late — after a decline of an earlier attempt or after the timeout — was
    # still taken, so it is still honoured.
    S.PAYMENT_FAILED: {S.PENDING_PAYMENT, S.PAID, S.EXPIRED},
    S.EXPIRED: {S.PAID},
    S.PAID: {S.FULFILLED, S.REFUNDED, S.PARTIALLY_REFUNDED},
    S.FULFILLED: {S.REFUNDED, S.PARTIALLY_REFUNDED},
    S.PARTIALLY_REFUNDED: {S.REFUNDED, S.PARTIALLY_REFUNDED},
    S.REFUNDED: set(),
}

# Orders the customer can still pay for (a retry after a decline included).
ORDER_PAYABLE_STATES = (S.PENDING_PAYMENT, S.PAYMENT_FAILED)


class Order(BaseModel):
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="orders", verbose_name=_("customer"))
    card = models.ForeignKey("cards.Card", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="orders", verbose_name=_("card"),
                             help_text=_("Empty for a new eSIM until one is assigned at "
                                         "payment."))
    new_esim = models.BooleanField(_("new eSIM"), default=False)
    plan = models.ForeignKey("catalog.Plan", on_delete=models.PROTECT, related_name="orders",
                             verbose_name=_("plan"))
    plan_name = models.CharField(_("plan name at sale"), max_length=120)
    currency = models.CharField(_("currency"), max_length=3)
    subtotal_minor = models.PositiveBigIntegerField(_("subtotal (minor units)"))
    discount_minor = models.PositiveBigIntegerField(_("discount (minor units)"), default=0)
    total_minor = models.PositiveBigIntegerField(_("total (minor units)"))
    coupon_code = models.CharField(_("coupon code"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices,
                              default=OrderStatus.PENDING_PAYMENT, db_index=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100)
    request_fingerprint = models.CharField(max_length=64)
    language = models.CharField(_("language"), max_length=10, blank=True)
    expires_at = models.DateTimeField(_("pay before"), db_index=True)
    payment = models.ForeignKey("payments.Payment", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+",
                                verbose_name=_("current payment attempt"))
    payment_attempts = models.PositiveIntegerField(_("payment attempts"), default=0)
    failure_message = models.CharField(_("last failure"), max_length=300, blank=True)
    period = models.OneToOneField("cards.Period", on_delete=models.PROTECT, null=True,
                                  blank=True, related_name="order", verbose_name=_("period"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    fulfilled_at = models.DateTimeField(_("fulfilled at"), null=True, blank=True)
    fulfilment_error = models.CharField(_("fulfilment problem"), max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["customer", "idempotency_key"],
                                    name="order_idempotency_key_per_customer"),
            models.CheckConstraint(
                condition=models.Q(total_minor=models.F("subtotal_minor")
                                   - models.F("discount_minor")),
                name="order_total_is_subtotal_minus_discount"),
        ]
        indexes = [models.Index(fields=["customer", "-created_at"])]

    def __str__(self) -> str:
        return f"order {self.public_id} ({self.status})"

    @property
    def reference(self) -> str:
        """What payments, coupons and the period carry to point back at this order."""
        return f"order:{self.public_id}"

    @property
    def subtotal(self) -> Money:
        return Money(int(self.subtotal_minor), self.currency)

    @property
    def discount(self) -> Money:
        return Money(int(self.discount_minor), self.currency)

    @property
    def total(self) -> Money:
        return Money(int(self.total_minor), self.currency)

    @property
    def is_payable(self) -> bool:
        return self.status in ORDER_PAYABLE_STATES

    @property
    def is_settled(self) -> bool:
        """Paid for: the order is (or is about to be) fulfilled, or was refunded."""
        return self.paid_at is not None

    # --- Status moves ----------------------------------------------------------------

    def can_move_to(self, to: str) -> bool:
        return to in ORDER_TRANSITIONS[self.status]

    def transition(self, to: str, *, at: datetime, note: str = "",
                   fields: tuple[str, ...] = ()) -> "OrderEvent":
        """Move to ``to`` if the table allows it, saving ``fields`` with the status and
        leaving an OrderEvent; raise Conflict otherwise."""
        if not self.can_move_to(to):
            raise Conflict(
                _("An order that is %(from)s cannot become %(to)s.")
                % {"from": OrderStatus(self.status).label, "to": OrderStatus(to).label},
                code="order_transition",
            )
        previous = self.status
        self.status = to
        self.save(update_fields=["status", "updated_at", *fields])
        return OrderEvent.objects.create(order=self, from_status=previous, to_status=to, at=at,
                                         note=note[:300])

    def mark_paid(self, *, at: datetime, note: str = "") -> "OrderEvent":
        self.paid_at = at
        self.failure_message = ""
        return self.transition(S.PAID, at=at, note=note,
                               fields=("paid_at", "failure_message"))

    def mark_fulfilled(self, *, at: datetime, period) -> "OrderEvent":
        self.period = period
        self.fulfilled_at = at
        self.fulfilment_error = ""
        return self.transition(S.FULFILLED, at=at,
                               fields=("period", "fulfilled_at", "fulfilment_error"))

    def mark_payment_failed(self, *, at: datetime, message: str) -> "OrderEvent":
        self.failure_message = message[:300]
        return self.transition(S.PAYMENT_FAILED, at=at, note=message,
                               fields=("failure_message",))

    def mark_expired(self, *, at: datetime) -> "OrderEvent":
        return self.transition(S.EXPIRED, at=at)

    def reopen_for_payment(self, *, at: datetime) -> "OrderEvent":
        return self.transition(S.PENDING_PAYMENT, at=at, note="retry")


class OrderEvent(models.Model):
    """History of an order: every status move, when, and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("order event")
        verbose_name_plural = _("order events")

    def __str__(self) -> str:
        return f"{self.order_id} {self.from_status}->{self.to_status}"
