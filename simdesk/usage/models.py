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
    """One usage record from the network, stored when it is rated: the proof that it counted.

    The primary key is (source, record id): a record sent again, by a retry, a second
    worker or a re-imported file, collides on it and is counted as a duplicate, never
    twice. The row is written in the same transaction as the ledger rows it caused
    (reference ``usage:<source>:<record id>``).

    ``card`` has no database constraint: the rating path checks the card exists under
    its row lock, and a per-row foreign-key check would double the cost of the hottest
    insert in simdesk for no extra safety (cards are never deleted). For the same reason
    it has no index of its own: a card's usage is read from the ledger.
    """

    pk = models.CompositePrimaryKey("source", "record_id")
    source = models.CharField(_("source"), max_length=64)
    record_id = models.CharField(_("record id"), max_length=128)
    card = models.ForeignKey("cards.Card", on_delete=models.DO_NOTHING, db_constraint=False,
                             db_index=False, related_name="+", verbose_name=_("card"))
    bytes_up = models.BigIntegerField(_("bytes up"))
    bytes_down = models.BigIntegerField(_("bytes down"))
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"))
    rated_at = models.DateTimeField(_("rated at"))

    class Meta:
        verbose_name = _("rated usage record")
        verbose_name_plural = _("rated usage records")

    def __str__(self) -> str:
        return f"usage:{self.source}:{self.record_id}"

    @property
    def reference(self) -> str:
        return usage_reference(self.source, self.record_id)


def usage_reference(source: str, record_id: str) -> str:
    """The ledger reference of a usage record: ``usage:<source>:<record id>``."""
    return f"usage:{source}:{record_id}"
