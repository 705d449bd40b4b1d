"""What the usage side has done about a period: which alerts went out."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AlertKind(models.TextChoices):
    USAGE = "usage", _("Data used")
    EXPIRY = "expiry", _("Ending soon")


class AlertSent(models.Model):
    """One alert for one period at one threshold (percent used, or days before the end).

    Unique on (period, kind, threshold): the row is inserted before the e-mail is
    queued, in the same transaction, so whichever worker inserts it first is the
    one that sends, and a period alerts at most once per threshold.
    """

    period = models.ForeignKey("cards.Period", on_delete=models.CASCADE,
                               related_name="alerts_sent", verbose_name=_("period"))
    kind = models.CharField(_("kind"), max_length=10, choices=AlertKind.choices)
    threshold = models.PositiveSmallIntegerField(_("threshold"))
    sent_at = models.DateTimeField(_("sent at"))

    class Meta:
        ordering = ["sent_at", "id"]
        verbose_name = _("alert sent")
        verbose_name_plural = _("alerts sent")
        constraints = [
            models.UniqueConstraint(fields=["period", "kind", "threshold"],
                                    name="alert_once_per_period_threshold"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.threshold} for period {self.period_id}"


class RatedRecord(models.Model):
    """A usage record that has been rated, as the ledger shows it (a database view, read only).

    A record's proof that it counted is its own first ledger row: reference
    ``usage:<source>:<record id>``, ``seq`` 0, unique on (reference, seq). Rating
    writes that row and nothing else per record (see ``rating.py``), so a record sent
    again, by a retry, a second worker or a re-imported file, collides on it and is
    counted as a duplicate, never twice. A record that carries no bytes gets a row of
    0 bytes, so it too is counted once. This view gathers a record's rows (more than
    one when it used up a period and went on to the next, or to overage): the card,
    the bytes it carried, when the usage happened and when it was rated.
    """

    reference = models.CharField(_("reference"), max_length=200, primary_key=True)
    card = models.ForeignKey("cards.Card", on_delete=models.DO_NOTHING, db_constraint=False,
                             related_name="+", verbose_name=_("card"))
    bytes = models.BigIntegerField(_("bytes"))
    at = models.DateTimeField(_("at"))
    rated_at = models.DateTimeField(_("rated at"))

    class Meta:
        managed = False
        db_table = "usage_ratedrecord"
        verbose_name = _("rated usage record")
        verbose_name_plural = _("rated usage records")

    def __str__(self) -> str:
        return self.reference


def usage_reference(source: str, record_id: str) -> str:
    """The ledger reference of a usage record: ``usage:<source>:<record id>``."""
    return f"usage:{source}:{record_id}"
