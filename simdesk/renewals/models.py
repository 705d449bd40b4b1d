"""Auto-renewal: what each card should buy next, and each attempt to buy it."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import Conflict
from simdesk.core.models import BaseModel


class RenewalSettings(BaseModel):
    """A card's auto-renewal choices. ``plan`` None means "the current period's plan"."""

    card = models.OneToOneField("cards.Card", on_delete=models.CASCADE,
                                related_name="renewal_settings", verbose_name=_("card"))
    enabled = models.BooleanField(_("enabled"), default=False)
    plan = models.ForeignKey("catalog.Plan", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+", verbose_name=_("plan"))
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    trigger_before_expiry_hours = models.PositiveIntegerField(
        _("hours before the end"), null=True, blank=True, default=24)
    trigger_low_data_percent = models.PositiveSmallIntegerField(
        _("percent of data left"), null=True, blank=True)
    payment_method = models.ForeignKey("payments.SavedPaymentMethod", on_delete=models.SET_NULL,
                                       null=True, blank=True, related_name="+",
                                       verbose_name=_("payment method"))
    disabled_reason = models.CharField(_("why it was switched off"), max_length=200,
                                       blank=True)
    changed_at = models.DateTimeField(_("changed at"), null=True, blank=True)
    # Set when the sweep hands the card to a renewal task: later sweeps leave the card
    # alone until then, so a backlog of due cards is not queued again every minute.
    enqueued_until = models.DateTimeField(_("renewal queued until"), null=True, blank=True)

    class Meta:
        verbose_name = _("renewal settings")
        verbose_name_plural = _("renewal settings")

    def __str__(self) -> str:
        return f"renewal of {self.card_id} ({'on' if self.enabled else 'off'})"


class AttemptStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    CHARGING = "charging", _("Charging")
    AWAITING_AUTHENTICATION = "authenticating", _("Waiting for the customer to "
                                                          "confirm the payment")
    SUCCEEDED = "succeeded", _("Renewed")
    FAILED = "failed", _("Failed, will retry")
    GIVEN_UP = "given_up", _("Given up")


A = AttemptStatus
ATTEMPT_TRANSITIONS: dict[str, set[str]] = {
    A.SCHEDULED: {A.CHARGING, A.GIVEN_UP},
    # A crashed worker leaves "charging": the next run picks it up again.
    A.CHARGING: {A.CHARGING, A.SUCCEEDED, A.FAILED, A.GIVEN_UP, A.AWAITING_AUTHENTICATION},
    # The bank asked the customer to confirm the charge: they do (succeeded), fail or let
    # the window pass (charging again, to record the decline), or renewal is switched off.
    A.AWAITING_AUTHENTICATION: {A.SUCCEEDED, A.CHARGING, A.GIVEN_UP},
    # A charge confirmed after its window closed was still taken: it renews the card.
    A.FAILED: {A.CHARGING, A.GIVEN_UP, A.SUCCEEDED},
    A.SUCCEEDED: set(),
    # The customer switched auto-renewal on again: a new round for the same period.
    A.GIVEN_UP: {A.SCHEDULED, A.SUCCEEDED},
}


class RenewalAttempt(BaseModel):
    """Renewing one period of one card: one row, one order, at most one successful charge."""

    card = models.ForeignKey("cards.Card", on_delete=models.CASCADE,
                             related_name="renewal_attempts", verbose_name=_("card"))
    period = models.ForeignKey("cards.Period", on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("period being renewed"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    status = models.CharField(_("status"), max_length=20, choices=AttemptStatus.choices,
                              default=AttemptStatus.SCHEDULED)
    attempt_count = models.PositiveIntegerField(_("charges tried"), default=0)
    # The try that began the current dunning round: switching auto-renewal on again
    # after it gave up starts a new round (tries keep counting, so charge keys stay unique).
    round_start = models.PositiveIntegerField(_("first try of this round"), default=1)
    next_attempt_at = models.DateTimeField(_("next try at"), null=True, blank=True)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    # Set while the bank waits for the customer to confirm the current try's charge.
    authenticate_by = models.DateTimeField(_("confirm the payment by"), null=True, blank=True)
    order = models.ForeignKey("orders.Order", on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+", verbose_name=_("order"))
    reminder_sent_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    succeeded_at = models.DateTimeField(_("renewed at"), null=True, blank=True)
    failure_message = models.CharField(_("last failure"), max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("renewal attempt")
        verbose_name_plural = _("renewal attempts")
        indexes = [models.Index(fields=["status", "next_attempt_at"]),
                   models.Index(fields=["status", "authenticate_by"]),
                   models.Index(fields=["card", "succeeded_at"])]

    def __str__(self) -> str:
        return f"{self.idempotency_key} ({self.status})"

    @staticmethod
    def key_for(*, card, period) -> str:
        return f"renewal:{card.public_id}:{period.public_id}"

    @property
    def order_key(self) -> str:
        """The order's idempotency key: the attempt's, plus the round after a restart."""
        if self.round_start == 1:
            return self.idempotency_key
        return f"{self.idempotency_key}:round{self.round_start}"

    def move(self, to: str, *, at: datetime, note: str = "",
             fields: tuple[str, ...] = ()) -> "RenewalAttemptEvent":
        """Move to ``to`` if the table allows it, saving ``fields`` too and leaving a
        history row; Conflict otherwise."""
        if to not in ATTEMPT_TRANSITIONS[self.status]:
            raise Conflict(_("This renewal cannot move from %(from)s to %(to)s.")
                           % {"from": self.status, "to": to}, code="renewal_transition")
        previous = self.status
        self.status = to
        self.save(update_fields=["status", "updated_at", *fields])
        return RenewalAttemptEvent.objects.create(attempt=self, from_status=previous,
                                                  to_status=to, at=at, note=note[:300])

    def restart(self, *, at: datetime) -> None:
        """Begin a new round of tries (and a new order) after giving up."""
        self.round_start = self.attempt_count + 1
        self.order = None
        self.next_attempt_at = at
        self.failure_message = ""
        self.move(A.SCHEDULED, at=at, note="switched on again",
                  fields=("round_start", "order", "next_attempt_at", "failure_message"))

    def mark_succeeded(self, *, at: datetime) -> None:
        self.succeeded_at = at
        self.next_attempt_at = None
        self.claimed_until = None
        self.authenticate_by = None
        self.move(A.SUCCEEDED, at=at,
                  fields=("succeeded_at", "next_attempt_at", "claimed_until",
                          "authenticate_by"))

    def await_authentication(self, *, by: datetime, at: datetime) -> None:
        """The bank asks the customer to confirm this try's charge until ``by``."""
        self.authenticate_by = by
        self.claimed_until = None
        self.move(A.AWAITING_AUTHENTICATION, at=at, note=f"until {by:%Y-%m-%d %H:%M}",
                  fields=("authenticate_by", "claimed_until"))


class RenewalAttemptEvent(models.Model):
    """One status move of a renewal attempt, for support and audits."""

    attempt = models.ForeignKey(RenewalAttempt, on_delete=models.CASCADE,
                                related_name="events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    at = models.DateTimeField()
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status} at {self.at:%Y-%m-%d %H:%M}"


def dunning_schedule_hours() -> list[int]:
    return [int(h) for h in getattr(settings, "RENEWAL_DUNNING_SCHEDULE", [1, 6, 24])]


def authentication_window() -> timedelta:
    """How long a customer has to confirm a renewal charge their bank holds back."""
    return timedelta(hours=int(getattr(settings, "RENEWAL_AUTHENTICATION_HOURS", 12)))
