"""Outgoing webhooks: endpoints integrators register, events, and one delivery per pair.

An event is written in the same transaction as the change it reports, with one
delivery row per subscribed endpoint, so a rolled back change announces nothing.
The send task is enqueued after commit, and the clock finds every delivery
whose task was lost or whose retry is due (see ``deliveries_due``).
"""

import secrets
import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from simdesk.core.models import BaseModel


class EventType(models.TextChoices):
    ORDER_PAID = "order.paid", _("Order paid")
    PERIOD_ACTIVATED = "period.activated", _("Period activated")
    PERIOD_LOW_DATA = "period.low_data", _("Period low on data")
    PERIOD_EXHAUSTED = "period.exhausted", _("Period used up")
    PERIOD_EXPIRED = "period.expired", _("Period expired")
    RENEWAL_FAILED = "renewal.failed", _("Renewal charge failed")
    CARD_SUSPENDED = "card.suspended", _("Card suspended")
    CARD_RESUMED = "card.resumed", _("Card resumed")
    # Sent only by staff, to one endpoint, to check it is reachable and verifies signatures.
    WEBHOOK_TEST = "webhook.test", _("Test event")


def new_signing_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


class WebhookEndpoint(BaseModel):
    """A URL an integrator receives events at.

    ``event_types`` lists the types it wants; an empty list means every type.
    The signing secret is made on creation and shown to staff, who pass it to
    the integrator; it is kept in clear because every delivery is signed with it.
    """

    url = models.URLField(_("URL"), max_length=500,
                          help_text=_("Where events are POSTed, http:// or https://."))
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = models.JSONField(
        _("event types"), default=list, blank=True,
        help_text=_("The types this endpoint receives; none chosen means all of them."))
    secret = models.CharField(_("signing secret"), max_length=100, default=new_signing_secret,
                              editable=False)
    active = models.BooleanField(_("active"), default=True,
                                 help_text=_("An inactive endpoint receives no new events."))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookEvent(models.Model):
    """One fact announced to integrators. ``dedupe_key`` is unique: emitting the
    same fact twice keeps the first event. ``data`` holds public ids, ISO times
    and integer bytes / minor units only."""

    event_id = models.CharField(_("event id"), max_length=40, unique=True, default=new_event_id,
                                editable=False)
    type = models.CharField(_("type"), max_length=40, choices=EventType.choices)
    data = models.JSONField(_("data"), default=dict)
    dedupe_key = models.CharField(_("deduplication key"), max_length=200, unique=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")

    def __str__(self) -> str:
        return f"{self.event_id} ({self.type})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed, will retry")
    GIVEN_UP = "given_up", _("Given up")


class WebhookDelivery(BaseModel):
    """One event to one endpoint.

    A worker leases the row with a conditional UPDATE (due and not leased →
    ``leased_until`` set, ``attempts`` + 1) and records the outcome only while
    ``attempts`` still equals the number it claimed, so two workers never send
    the same attempt and a worker that overran its lease cannot overwrite a
    later attempt's result.
    """

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE,
                                 related_name="deliveries", verbose_name=_("endpoint"))
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE,
                              related_name="deliveries", verbose_name=_("event"))
    status = models.CharField(_("status"), max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    leased_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    # Attempts made before staff last asked for a retry: the backoff counts from here.
    round_start = models.PositiveSmallIntegerField(_("attempts before the last manual retry"),
                                                   default=0)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    # A send task was handed out and may still wait in the queue until then; the sweep
    # leaves the delivery alone meanwhile, so a backlog is not enqueued again every minute.
    enqueued_until = models.DateTimeField(_("send queued until"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"],
                                    name="webhook_delivery_once_per_endpoint"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"delivery {self.pk} of event {self.event_id} to endpoint {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """The result of one try: the HTTP status (none when no answer came), the
    start of the response body, or the network error."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE,
                                 related_name="attempt_results", verbose_name=_("delivery"))
    number = models.PositiveSmallIntegerField(_("attempt number"))
    at = models.DateTimeField(_("at"))
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    response_excerpt = models.TextField(_("response excerpt"), blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"],
                                    name="webhook_attempt_number_once"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"

    @property
    def succeeded(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300
