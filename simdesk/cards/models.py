"""Cards, the periods of data sold on them, and the append-only ledger of every balance change.

Invariant (``simdesk check-ledger`` verifies it): for every period, the sum of
its ledger rows equals ``remaining_bytes`` (credits − debits = remaining), and a
cause (``reference``) is applied at most once.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
from simdesk.core.errors import Conflict
from simdesk.core.models import BaseModel

from .activation import ActivationCode, activation_code_parse, validate_activation_code
from .iccid import validate_iccid

validate_imsi = RegexValidator(r"^\d{15}$", _("An IMSI has exactly 15 digits."), "imsi")
validate_msisdn = RegexValidator(
    r"^[1-9]\d{7,14}$",
    _("Give the phone number in international form, 8 to 15 digits with the country code "
      "and no leading 0, for example 447700900123."),
    "msisdn",
)
validate_eid = RegexValidator(r"^\d{32}$", _("An EID has exactly 32 digits."), "eid")


class CardState(models.TextChoices):
    INACTIVE = "inactive", _("Inactive")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    SUSPENDED = "suspended", _("Suspended")
    TERMINATED = "terminated", _("Terminated")


CARD_TRANSITIONS: dict[str, set[str]] = {
    CardState.INACTIVE: {CardState.ACTIVE, CardState.PAUSED, CardState.SUSPENDED,
                         CardState.TERMINATED},
    CardState.ACTIVE: {CardState.INACTIVE, CardState.PAUSED, CardState.SUSPENDED,
                       CardState.TERMINATED},
    CardState.PAUSED: {CardState.ACTIVE, CardState.INACTIVE, CardState.SUSPENDED,
                       CardState.TERMINATED},
    # suspended -> paused: staff lift a suspension while the customer's own pause is
    # still running (see cards/services/pause.py).
    CardState.SUSPENDED: {CardState.ACTIVE, CardState.INACTIVE, CardState.PAUSED,
                          CardState.TERMINATED},
    CardState.TERMINATED: set(),
}

# The states simdesk derives from the card's periods; the others are decisions
# of a person (customer pause, staff suspension, termination) and stay put.
CARD_DERIVED_STATES = {CardState.INACTIVE, CardState.ACTIVE}


class Card(BaseModel):
    """A data card or eSIM. ``claim_code`` is a password hash, never the code itself."""

    iccid = models.CharField(_("ICCID"), max_length=20, unique=True, validators=[validate_iccid])
    imsi = models.CharField(_("IMSI"), max_length=15, blank=True, validators=[validate_imsi])
    msisdn = models.CharField(_("MSISDN"), max_length=15, blank=True,
                              validators=[validate_msisdn])
    eid = models.CharField(_("EID"), max_length=32, blank=True, validators=[validate_eid])
    activation_code = models.CharField(
        _("activation code"), max_length=600, blank=True, validators=[validate_activation_code],
        help_text=_("Stored without the LPA: prefix: 1$smdp.example.com$MATCHING-ID."),
    )
    claim_code = models.CharField(_("claim code (hashed)"), max_length=200, blank=True,
                                  editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                              blank=True, related_name="cards", verbose_name=_("owner"))
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    label = models.CharField(_("label"), max_length=60, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=CardState.choices,
                             default=CardState.INACTIVE, db_index=True)
    state_changed_at = models.DateTimeField(_("state changed at"), null=True, blank=True)
    usage_updated_at = models.DateTimeField(
        _("usage last updated"), null=True, blank=True,
        help_text=_("Time of the latest usage counted: usage from roaming partners can "
                    "arrive hours late, so customers see how current their balance is."),
    )
    overage_bytes = models.PositiveBigIntegerField(
        _("overage (bytes)"), default=0,
        help_text=_("Usage that arrived when no period had data left."),
    )
    # The customer's pause (cards/services/pause.py). It is kept apart from ``state``
    # because staff may suspend a paused card: the pause goes on underneath.
    paused_at = models.DateTimeField(
        _("paused at"), null=True, blank=True,
        help_text=_("When the customer's current pause began; empty when not paused."),
    )
    pause_until = models.DateTimeField(
        _("pause ends at the latest"), null=True, blank=True, db_index=True,
        help_text=_("When the current pause ends by itself: the plan's pause allowance "
                    "runs out."),
    )
    pause_period = models.ForeignKey(
        "Period", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("pause charged to"),
        help_text=_("The period whose pause allowance the current pause uses."),
    )

    class Meta:
        ordering = ["iccid"]
        verbose_name = _("card")
        verbose_name_plural = _("cards")
        constraints = [
            models.UniqueConstraint(fields=["imsi"], condition=~Q(imsi=""),
                                    name="card_imsi_unique"),
            models.UniqueConstraint(fields=["msisdn"], condition=~Q(msisdn=""),
                                    name="card_msisdn_unique"),
        ]

    def __str__(self) -> str:
        return self.iccid

    def clean(self):
        super().clean()
        # One stored form whatever staff typed: no LPA: prefix, lower-case host.
        if self.activation_code:
            self.activation_code = str(activation_code_parse(self.activation_code))

    # --- Claim code --------------------------------------------------------------------

    def set_claim_code(self, raw: str) -> None:
        self.claim_code = make_password(raw)

    def check_claim_code(self, raw: str) -> bool:
        return bool(self.claim_code) and check_password(raw, self.claim_code)

    @property
    def activation(self) -> ActivationCode | None:
        return activation_code_parse(self.activation_code) if self.activation_code else None

    # --- State moves -------------------------------------------------------------------

    def transition(self, to: str, *, at: datetime, actor=None, reason: str = "") -> "CardEvent":
        """Move to ``to`` if the table allows it, leaving a CardEvent; raise Conflict otherwise."""
        if to not in CARD_TRANSITIONS[self.state]:
            raise Conflict(
                _("A card that is %(from)s cannot become %(to)s.")
                % {"from": CardState(self.state).label, "to": CardState(to).label}
            )
        previous = self.state
        self.state = to
        self.state_changed_at = at
        self.save(update_fields=["state", "state_changed_at", "updated_at"])
        return CardEvent.objects.create(card=self, kind=CardEvent.Kind.STATE, from_state=previous,
                                        to_state=to, at=at, actor=actor, note=reason)

    def mark_active(self, *, at: datetime, reason: str = "") -> "CardEvent":
        return self.transition(CardState.ACTIVE, at=at, reason=reason)

    def mark_inactive(self, *, at: datetime, reason: str = "") -> "CardEvent":
        return self.transition(CardState.INACTIVE, at=at, reason=reason)

    def pause(self, *, at: datetime, actor=None) -> "CardEvent":
        return self.transition(CardState.PAUSED, at=at, actor=actor)

    def suspend(self, *, at: datetime, actor=None, reason: str = "") -> "CardEvent":
        return self.transition(CardState.SUSPENDED, at=at, actor=actor, reason=reason)

    def terminate(self, *, at: datetime, actor=None, reason: str = "") -> "CardEvent":
        return self.transition(CardState.TERMINATED, at=at, actor=actor, reason=reason)


class CardEvent(models.Model):
    """History of a card: state moves, claims, and what happened to its periods."""

    class Kind(models.TextChoices):
        IMPORTED = "imported", _("Imported")
        CLAIMED = "claimed", _("Claimed")
        STATE = "state", _("State changed")
        PERIOD = "period", _("Period changed")

    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="events")
    period = models.ForeignKey("Period", on_delete=models.CASCADE, null=True, blank=True,
                               related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12, blank=True)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("card event")
        verbose_name_plural = _("card events")

    def __str__(self) -> str:
        return f"{self.card_id} {self.kind} {self.from_state}->{self.to_state}"


class PeriodState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    ACTIVE = "active", _("Active")
    EXHAUSTED = "exhausted", _("Used up")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")


PERIOD_TRANSITIONS: dict[str, set[str]] = {
    PeriodState.QUEUED: {PeriodState.ACTIVE, PeriodState.CANCELLED, PeriodState.REFUNDED},
    # exhausted -> active: a staff adjustment gave data back before the end.
    PeriodState.ACTIVE: {PeriodState.EXHAUSTED, PeriodState.EXPIRED, PeriodState.CANCELLED,
                         PeriodState.REFUNDED},
    PeriodState.EXHAUSTED: {PeriodState.ACTIVE, PeriodState.REFUNDED},
    PeriodState.EXPIRED: set(),
    PeriodState.CANCELLED: set(),
    PeriodState.REFUNDED: set(),
}

PERIOD_OPEN_STATES = (PeriodState.QUEUED, PeriodState.ACTIVE)


class Period(BaseModel):
    """A bucket of data with a validity window on one card, with the plan's terms copied at sale.

    ``starts_at``/``ends_at`` are empty while the period is queued, and while an
    ``on_first_use`` period is active but not used yet (it then makes the card
    usable, and the first usage starts its clock). Unlimited periods have no
    ``total_bytes``/``remaining_bytes``: they count ``used_bytes`` against the fair-use cap.
    """

    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="periods")
    plan = models.ForeignKey("catalog.Plan", on_delete=models.PROTECT, related_name="periods")
    plan_code = models.CharField(_("plan code"), max_length=64)
    names = models.JSONField(_("names at sale"), default=dict,
                             help_text=_("The plan's name in each language when it was sold."))
    kind = models.CharField(max_length=10, choices=PlanKind.choices, default=PlanKind.BASE)
    unlimited = models.BooleanField(default=False)
    total_bytes = models.BigIntegerField(null=True, blank=True)
    remaining_bytes = models.BigIntegerField(null=True, blank=True)
    used_bytes = models.BigIntegerField(default=0)
    fair_use_bytes = models.BigIntegerField(null=True, blank=True)
    throttle_kbps = models.PositiveIntegerField(null=True, blank=True)
    validity_days = models.PositiveIntegerField()
    validity_start = models.CharField(max_length=16, choices=ValidityStart.choices)
    stacking = models.CharField(max_length=10, choices=Stacking.choices)
    pausable = models.BooleanField(_("pausable"), default=False)
    max_pause_days = models.PositiveIntegerField(_("maximum pause (days)"), default=0)
    paused_seconds = models.PositiveBigIntegerField(
        _("pause used (seconds)"), default=0,
        help_text=_("Pause time already taken from this period's allowance."),
    )
    state = models.CharField(max_length=10, choices=PeriodState.choices, db_index=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    fair_use_reached_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(
        _("source"), max_length=120, unique=True,
        help_text=_("What created the period (order:<id>, demo, adjustment:…); "
                    "one source never makes two periods."),
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("period")
        verbose_name_plural = _("periods")
        constraints = [
            models.CheckConstraint(condition=Q(remaining_bytes__isnull=True)
                                   | Q(remaining_bytes__gte=0),
                                   name="period_remaining_not_negative"),
            models.CheckConstraint(condition=Q(unlimited=True, total_bytes__isnull=True,
                                               remaining_bytes__isnull=True)
                                   | Q(unlimited=False, total_bytes__isnull=False,
                                       remaining_bytes__isnull=False),
                                   name="period_bytes_match_unlimited"),
        ]
        indexes = [models.Index(fields=["card", "state"])]

    def __str__(self) -> str:
        return f"{self.plan_code} on {self.card_id} ({self.state})"

    def name_for(self, language: str | None) -> str:
        from simdesk.catalog.models import normalize_language

        wanted = normalize_language(language)
        for candidate in (wanted, wanted.split("-")[0], "en"):
            if self.names.get(candidate):
                return self.names[candidate]
        return next(iter(self.names.values()), self.plan_code)

    @property
    def is_waiting_for_first_use(self) -> bool:
        return self.state == PeriodState.ACTIVE and self.starts_at is None

    def start(self, *, at: datetime) -> None:
        """Start the validity clock at ``at`` (not saved)."""
        self.starts_at = at
        self.ends_at = at + timedelta(days=self.validity_days)

    def move(self, to: str, *, at: datetime) -> None:
        """Change state if allowed (not saved; the caller saves with the ledger row)."""
        if to not in PERIOD_TRANSITIONS[self.state]:
            raise Conflict(
                _("A period that is %(from)s cannot become %(to)s.")
                % {"from": PeriodState(self.state).label, "to": PeriodState(to).label}
            )
        previous = self.state
        self.state = to
        if to == PeriodState.ACTIVE:
            self.activated_at = self.activated_at or at
            self.closed_at = None
        elif to not in PERIOD_OPEN_STATES:
            self.closed_at = at
        CardEvent.objects.create(card_id=self.card_id, period=self, kind=CardEvent.Kind.PERIOD,
                                 from_state=previous, to_state=to, at=at)


class LedgerKind(models.TextChoices):
    CREDIT_PURCHASE = "credit_purchase", _("Purchase")
    CREDIT_EXTEND = "credit_extend", _("Extension")
    DEBIT_USAGE = "debit_usage", _("Usage")
    OVERAGE = "overage", _("Overage")
    ADJUSTMENT = "adjustment", _("Adjustment")
    EXPIRY = "expiry", _("Expiry")
    REFUND = "refund", _("Refund")
    CANCELLATION = "cancellation", _("Cancellation")


# Rows that make up what the period was given (its total); adjustments are signed.
LEDGER_CREDIT_KINDS = (LedgerKind.CREDIT_PURCHASE, LedgerKind.CREDIT_EXTEND,
                       LedgerKind.ADJUSTMENT)


class LedgerEntry(models.Model):
    """One change of a data balance. Append-only: rows are never updated or deleted.

    ``reference`` names the cause (``usage:<source>:<record id>``, ``order:17``,
    ``expiry:<period>``); one cause may touch several periods, numbered by
    ``seq``, and (reference, seq) is unique — so applying a cause a second time
    collides on its first row and cannot happen. ``balance_after`` is the
    period's remaining bytes after the row (null for unlimited periods); for
    overage rows (no period) it is minus the card's total overage.
    """

    # No foreign-key constraints in the database: rating writes a ledger row per usage
    # record, and PostgreSQL checked both keys of every row at commit (as long as the
    # rest of the transaction). Cards and periods are never deleted (PROTECT still
    # refuses it in Django), rows are only appended, and check-ledger reports a row whose
    # card or period does not exist. The card's own index would repeat the first column
    # of (card, kind, at), which serves every read by card.
    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="ledger",
                             db_constraint=False, db_index=False)
    period = models.ForeignKey(Period, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="ledger", db_constraint=False)
    kind = models.CharField(max_length=16, choices=LedgerKind.choices)
    bytes = models.BigIntegerField(help_text=_("Credit positive, debit negative."))
    balance_after = models.BigIntegerField(null=True, blank=True)
    reference = models.CharField(max_length=200)
    seq = models.PositiveSmallIntegerField(default=0)
    at = models.DateTimeField(help_text=_("When the change took effect (e.g. time of usage)."))
    created_at = models.DateTimeField(help_text=_("When the row was written."))
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [
            models.UniqueConstraint(fields=["reference", "seq"], name="ledger_reference_once"),
        ]
        indexes = [models.Index(fields=["card", "kind", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.bytes:+d} ({self.reference})"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValidationError("Ledger entries are append-only; write a new entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Ledger entries are append-only and cannot be deleted.")


class NetworkActionKind(models.TextChoices):
    ACTIVATE = "activate", _("Switch on")
    SUSPEND = "suspend", _("Suspend")
    RESUME = "resume", _("Resume")
    DISCONNECT = "disconnect", _("Disconnect")


class NetworkActionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("In progress")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class NetworkAction(BaseModel):
    """One request to the mobile network about a card, and what came of it.

    Written in the transaction that decided it (so a rolled back change asks the
    network nothing), carried out after commit by a task through the configured
    adapter, retried by the clock until done or given up (``next_attempt_at`` empty
    on a failed row means no more tries). ``dedupe_key``, when given, makes the
    same cause ask once.
    """

    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="network_actions",
                             verbose_name=_("card"))
    action = models.CharField(_("action"), max_length=12, choices=NetworkActionKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=NetworkActionStatus.choices,
                              default=NetworkActionStatus.PENDING)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    dedupe_key = models.CharField(_("deduplication key"), max_length=200, null=True,
                                  blank=True, unique=True)
    adapter = models.CharField(_("adapter"), max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    requested_at = models.DateTimeField(_("requested at"))
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    detail = models.TextField(_("detail"), blank=True,
                              help_text=_("What the network answered, or the last error."))

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("network action")
        verbose_name_plural = _("network actions")
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.action} {self.card_id} ({self.status})"
