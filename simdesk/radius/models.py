"""Network access servers and the accounting sessions they report (which also say where
each card was last seen: its latest session's visited network and time).

A ``RadiusSession`` keeps the highest cumulative counters seen for one
(NAS, Acct-Session-Id, generation): usage is only ever the increase over them, so a
retransmitted or out-of-order packet adds nothing. A restart of the same
Acct-Session-Id (a Start after a Stop, or counters going down after a Stop) begins
a new generation from zero.
"""

import contextlib
import ipaddress

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from simdesk.core.models import BaseModel


def validate_nas_address(value: str) -> None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError as error:
        raise ValidationError(
            _("Give an IP address (10.0.0.1) or a network (10.0.0.0/24)."), code="address",
        ) from error


class NasClient(BaseModel):
    """A network access server (a GGSN/PGW or other RADIUS client) allowed to talk to
    simdesk, and the secret it shares with us. Requests from any other address, or
    signed with another secret, get no answer.

    The secret must be kept in clear: RADIUS signs every packet with it (MD5 over the
    packet and the secret), so it cannot be stored as a hash. Staff see it masked.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    address = models.CharField(
        _("IP address or network"), max_length=64, validators=[validate_nas_address],
        help_text=_("The source address of its RADIUS packets, or a network such as "
                    "10.0.0.0/24 for a pool of servers sharing one secret."),
    )
    secret = models.CharField(_("shared secret"), max_length=128)
    coa_port = models.PositiveIntegerField(
        _("CoA/Disconnect port"), default=3799,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
        help_text=_("UDP port where it takes Disconnect-Requests (RFC 5176); 3799 by default."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("network access server")
        verbose_name_plural = _("network access servers")

    def __str__(self) -> str:
        return f"{self.name} ({self.address})"

    def clean(self):
        super().clean()
        if self.address:
            # One written form (10.0.0.0/24, not 10.0.0.7/24); the validator names errors.
            with contextlib.suppress(ValueError):
                self.address = str(ipaddress.ip_network(self.address, strict=False)
                                   if "/" in self.address else ipaddress.ip_address(self.address))

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.address, strict=False)



class RadiusSession(models.Model):
    """One accounting session of a card on a NAS, with the highest counters seen.

    ``bytes_in``/``bytes_out`` are cumulative since the session (generation) began,
    gigawords included: input is what the card sent (upload), output what it received.
    """

    # No index of its own: the unique (nas, session_id) serves lookups by NAS.
    nas = models.ForeignKey(NasClient, on_delete=models.PROTECT, related_name="sessions",
                            verbose_name=_("network access server"), db_index=False)
    session_id = models.CharField(_("Acct-Session-Id"), max_length=253)
    generation = models.PositiveIntegerField(
        _("generation"), default=0,
        help_text=_("Counts restarts of the same Acct-Session-Id."))
    card = models.ForeignKey("cards.Card", on_delete=models.PROTECT,
                             related_name="radius_sessions", verbose_name=_("card"))
    user_name = models.CharField(_("User-Name"), max_length=253, blank=True)
    nas_address = models.GenericIPAddressField(_("NAS sent from"))
    bytes_in = models.BigIntegerField(_("bytes up"), default=0)
    bytes_out = models.BigIntegerField(_("bytes down"), default=0)
    mcc_mnc = models.CharField(_("visited network (MCC/MNC)"), max_length=6, blank=True)
    # Times of the network's events (Event-Timestamp, or arrival less Acct-Delay-Time).
    started_at = models.DateTimeField(_("started at"))
    last_event_at = models.DateTimeField(_("last event at"))
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)

    class Meta:
        ordering = ["-last_event_at", "-id"]
        verbose_name = _("RADIUS session")
        verbose_name_plural = _("RADIUS sessions")
        constraints = [
            models.UniqueConstraint(fields=["nas", "session_id"], name="radius_session_once"),
        ]
        # Only the unique key and the card's index: every accounting packet rewrites its
        # row, and with no index on the columns it changes PostgreSQL updates it in place
        # (HOT) instead of adding an entry to every index.

    def __str__(self) -> str:
        return f"{self.session_id} on {self.nas_id}"

