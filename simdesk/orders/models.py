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
    # A plan change "now": this order replaces that period, which is closed when this order
    # is fulfilled; its unused part (quoted when the order opened) is refunded.
    replaces_period = models.ForeignKey("cards.Period", on_delete=models.PROTECT, null=True,
                                        blank=True, related_name="replacement_orders",
                                        verbose_name=_("plan change of period"))
    plan_change_refund_minor = models.PositiveBigIntegerField(
        _("refund quoted for the replaced period (minor units)"), null=True, blank=True)
    plan_change_quoted_at = models.DateTimeField(_("refund quoted at"), null=True, blank=True)

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
    def plan_change_refund(self) -> Money | None:
        """The refund of the replaced period a plan-change order carries."""
        if self.plan_change_refund_minor is None:
            return None
        return Money(int(self.plan_change_refund_minor), self.currency_of_refund)

    @property
    def currency_of_refund(self) -> str:
        # The replaced period was paid for in its own order's currency.
        old = Order.objects.filter(period_id=self.replaces_period_id).values_list(
            "currency", flat=True).first() if self.replaces_period_id else None
        return old or self.currency

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


class RefundRequestStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    REFUNDED = "refunded", _("Refunded")


class RefundCause(models.TextChoices):
    CUSTOMER = "customer", _("Asked for by the customer")
    PLAN_CHANGE = "plan_change", _("Plan changed")


R = RefundRequestStatus
REFUND_REQUEST_TRANSITIONS: dict[str, set[str]] = {
    R.PENDING: {R.APPROVED, R.REJECTED},
    R.APPROVED: {R.REFUNDED},
    R.REJECTED: set(),
    R.REFUNDED: set(),
}


class RefundRequest(BaseModel):
    """A refund of one period: asked for by the customer (refunded at once when the period is
    unused and recent, else decided by staff), or made by a plan change "now".

    One per period (``period`` is one-to-one and ``idempotency_key`` is the key of the
    refund at the gateway), so a period is never refunded twice, whatever the path.
    """

    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="refund_requests", verbose_name=_("customer"))
    period = models.OneToOneField("cards.Period", on_delete=models.PROTECT,
                                  related_name="refund_request", verbose_name=_("period"))
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refund_requests",
                              verbose_name=_("order that bought the period"))
    cause = models.CharField(_("cause"), max_length=20, choices=RefundCause.choices,
                             default=RefundCause.CUSTOMER)
    status = models.CharField(_("status"), max_length=20, choices=RefundRequestStatus.choices,
                              default=RefundRequestStatus.PENDING, db_index=True)
    reason = models.TextField(_("reason given by the customer"), max_length=1000, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    paid_minor = models.PositiveBigIntegerField(_("paid (minor units)"))
    suggested_minor = models.PositiveBigIntegerField(
        _("suggested amount (minor units)"),
        help_text=_("Pro rata: the smaller of the unused share of days and of data, "
                    "when the request was made."))
    amount_minor = models.PositiveBigIntegerField(_("refunded amount (minor units)"), null=True,
                                                  blank=True)
    automatic = models.BooleanField(_("refunded automatically"), default=False)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("note to the customer"), max_length=300, blank=True)
    refund = models.ForeignKey("payments.Refund", on_delete=models.PROTECT, null=True,
                               blank=True, related_name="+", verbose_name=_("refund"))
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("refund request")
        verbose_name_plural = _("refund requests")

    def __str__(self) -> str:
        return f"refund request {self.public_id} ({self.status})"

    @property
    def reference(self) -> str:
        return f"refund:{self.public_id}"

    @property
    def suggested(self) -> Money:
        return Money(int(self.suggested_minor), self.currency)

    @property
    def amount(self) -> Money | None:
        return None if self.amount_minor is None else Money(int(self.amount_minor), self.currency)

    def move(self, to: str, *, at: datetime, actor=None, note: str = "",
             fields: tuple[str, ...] = ()) -> "RefundRequestEvent":
        """Move to ``to`` if the table allows it, saving ``fields`` too and leaving a history
        row; Conflict otherwise."""
        if to not in REFUND_REQUEST_TRANSITIONS[self.status]:
            raise Conflict(
                _("A refund request that is %(from)s cannot become %(to)s.")
                % {"from": RefundRequestStatus(self.status).label,
                   "to": RefundRequestStatus(to).label},
                code="refund_request_transition",
            )
        previous = self.status
        self.status = to
        self.save(update_fields=["status", "updated_at", *fields])
        return RefundRequestEvent.objects.create(request=self, from_status=previous,
                                                 to_status=to, at=at, actor=actor,
                                                 note=note[:300])


class RefundRequestEvent(models.Model):
    """History of a refund request: every status move, when, by whom and why."""

    request = models.ForeignKey(RefundRequest, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("refund request event")
        verbose_name_plural = _("refund request events")

    def __str__(self) -> str:
        return f"{self.request_id} {self.from_status}->{self.to_status}"
