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
