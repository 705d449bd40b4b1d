"""Support: tickets between a customer and staff, and announcements shown on the portal.

A ticket's status moves only through ``Ticket.transition`` (table of allowed moves,
a ``TicketEvent`` per move). Announcements keep their title and body per language
in rows, the way plans keep their names (``AnnouncementTranslation``).
"""

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from simdesk.catalog.models import normalize_language
from simdesk.core.errors import Conflict
from simdesk.core.models import BaseModel

SUBJECT_MAX_LENGTH = 150
BODY_MAX_LENGTH = 5000


class TicketStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WAITING_ON_CUSTOMER = "waiting_on_customer", _("Waiting for your reply")
    RESOLVED = "resolved", _("Resolved")


S = TicketStatus
TICKET_TRANSITIONS: dict[str, set[str]] = {
    # A staff reply waits for the customer; a customer message (even on a resolved
    # ticket) opens it again; staff may answer a resolved ticket without reopening it.
    S.OPEN: {S.WAITING_ON_CUSTOMER, S.RESOLVED},
    S.WAITING_ON_CUSTOMER: {S.OPEN, S.RESOLVED},
    S.RESOLVED: {S.OPEN, S.WAITING_ON_CUSTOMER},
}


class Ticket(BaseModel):
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="support_tickets", verbose_name=_("customer"))
    subject = models.CharField(_("subject"), max_length=SUBJECT_MAX_LENGTH)
    status = models.CharField(_("status"), max_length=24, choices=TicketStatus.choices,
                              default=TicketStatus.OPEN, db_index=True)
    card = models.ForeignKey("cards.Card", on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="support_tickets", verbose_name=_("card"))
    order = models.ForeignKey("orders.Order", on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="support_tickets", verbose_name=_("order"))
    last_message_at = models.DateTimeField(_("last message at"))
    # When the ticket last started waiting on the customer: the quiet period of the
    # auto-close counts from here (None unless the status is waiting_on_customer).
    waiting_since = models.DateTimeField(_("waiting since"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        verbose_name = _("support ticket")
        verbose_name_plural = _("support tickets")
        indexes = [
            models.Index(fields=["customer", "-last_message_at"]),
            models.Index(fields=["status", "waiting_since"]),
        ]

    def __str__(self) -> str:
        return self.subject

    def can_move_to(self, to: str) -> bool:
        return to in TICKET_TRANSITIONS[self.status]

    def transition(self, to: str, *, at: datetime, actor=None, note: str = "",
                   fields: tuple[str, ...] = ()) -> "TicketEvent":
        """Move to ``to`` if the table allows it, saving ``fields`` with the status and
        leaving a TicketEvent; raise Conflict otherwise."""
        if not self.can_move_to(to):
            raise Conflict(
                _("A ticket that is %(from)s cannot become %(to)s.")
                % {"from": TicketStatus(self.status).label, "to": TicketStatus(to).label},
                code="ticket_transition",
            )
        previous = self.status
        self.status = to
        self.waiting_since = at if to == S.WAITING_ON_CUSTOMER else None
        self.resolved_at = at if to == S.RESOLVED else None
        self.save(update_fields=["status", "waiting_since", "resolved_at", "updated_at",
                                 *fields])
        return TicketEvent.objects.create(ticket=self, from_status=previous, to_status=to,
                                          at=at, actor=actor, note=note[:300])


class TicketMessage(BaseModel):
    """One message of the conversation, by the customer or by staff."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                               blank=True, related_name="+", verbose_name=_("author"))
    from_staff = models.BooleanField(_("from staff"), default=False)
    body = models.TextField(_("message"), max_length=BODY_MAX_LENGTH)
    at = models.DateTimeField(_("written at"))

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")

    def __str__(self) -> str:
        return f"{self.ticket_id} {'staff' if self.from_staff else 'customer'} {self.at}"


class TicketEvent(models.Model):
    """History of a ticket: every status move, when, by whom (None: the clock)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.from_status}->{self.to_status}"


# --- Announcements ---------------------------------------------------------------------------

class Audience(models.TextChoices):
    EVERYONE = "everyone", _("Everyone")
    REGION = "region", _("Customers with cards in a region")
    PLAN = "plan", _("Customers with a given plan")


class Announcement(BaseModel):
    """News or a promotion shown to its audience between ``starts_at`` (inclusive) and
    ``ends_at`` (exclusive); optionally e-mailed once to those who opted in to offers.

    Audience "region": customers with a card whose open period (active or queued) is
    of a plan covering any country of the region. Audience "plan": customers with a
    card whose open period is of that plan.
    """

    internal_name = models.CharField(_("internal name"), max_length=100,
                                     help_text=_("For staff only; customers never see it."))
    starts_at = models.DateTimeField(_("shown from"))
    ends_at = models.DateTimeField(_("shown until"))
    audience = models.CharField(_("audience"), max_length=10, choices=Audience.choices,
                                default=Audience.EVERYONE)
    region = models.ForeignKey("catalog.Region", on_delete=models.PROTECT, null=True,
                               blank=True, related_name="+", verbose_name=_("region"))
    plan = models.ForeignKey("catalog.Plan", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="+", verbose_name=_("plan"))
    coupon = models.ForeignKey("catalog.Coupon", on_delete=models.PROTECT, null=True,
                               blank=True, related_name="+", verbose_name=_("coupon"),
                               help_text=_("Optional: its code is shown with the announcement."))
    send_email = models.BooleanField(
        _("also send by e-mail"), default=False,
        help_text=_("Once, to customers in the audience who chose to receive news and "
                    "offers, when the announcement starts."))
    emailed_at = models.DateTimeField(_("e-mails queued at"), null=True, blank=True,
                                      editable=False)

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        indexes = [models.Index(fields=["starts_at", "ends_at"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                   name="announcement_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.internal_name

    def clean(self):
        super().clean()
        errors = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("The end must be after the start.")
        if self.audience == Audience.REGION and self.region_id is None:
            errors["region"] = _("Choose the region whose customers see this.")
        if self.audience == Audience.PLAN and self.plan_id is None:
            errors["plan"] = _("Choose the plan whose customers see this.")
        if errors:
            raise ValidationError(errors)

    def is_live(self, *, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def translation_for(self, language: str | None) -> "AnnouncementTranslation | None":
        """The row for ``language``, else its base language, else English, else any row."""
        rows = list(self.translations.all())  # uses the prefetch cache when there is one
        wanted = normalize_language(language)
        by_language = {normalize_language(row.language): row for row in rows}
        for candidate in (wanted, wanted.split("-")[0], "en"):
            if candidate in by_language:
                return by_language[candidate]
        return rows[0] if rows else None


def validate_language(value: str) -> None:
    if value not in {code for code, _name in settings.LANGUAGES}:
        raise ValidationError(_("“%(value)s” is not one of the site's languages."),
                              code="invalid_language", params={"value": value})


class AnnouncementTranslation(models.Model):
    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE,
                                     related_name="translations")
    # A validator rather than ``choices``: adding a site language needs no migration here.
    language = models.CharField(_("language"), max_length=10, validators=[validate_language])
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"), max_length=2000)

    class Meta:
        verbose_name = _("announcement text")
        verbose_name_plural = _("announcement texts")
        constraints = [
            models.UniqueConstraint(fields=["announcement", "language"],
                                    name="announcement_translation_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.announcement_id}:{self.language}"


class AnnouncementDismissal(models.Model):
    """The customer closed this announcement: it is not shown to them again."""

    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE,
                                     related_name="dismissals")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                 related_name="+")
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["announcement", "customer"],
                                    name="announcement_dismissed_once"),
        ]

    def __str__(self) -> str:
        return f"{self.announcement_id} dismissed by {self.customer_id}"
