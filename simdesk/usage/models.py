"""Usage as the network sent it, how far it has been rated, and which alerts went out."""

from datetime import UTC, datetime, timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _

from simdesk.core.fields import AppendOnlyAutoField

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


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


class Source(models.Model):
    """Who measured usage (a mediation system, an API key, the RADIUS server): record ids
    are unique per source."""

    name = models.CharField(_("name"), max_length=64, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("usage source")
        verbose_name_plural = _("usage sources")

    def __str__(self) -> str:
        return self.name


class Record(models.Model):
    """One usage record as the network sent it, kept once per (source, record id).

    The row is the record's claim: a record sent again, by a retry, a second worker or
    a re-imported file, collides on the unique key and counts as a duplicate. Records
    are rated in id order by rating runs (see ``rating.py``); a record with an id up to
    ``RatingCursor.through`` has been applied to its card. Rows are only appended.
    """

    id = AppendOnlyAutoField(primary_key=True)
    # The unique key (source, record id) serves every read by source.
    source = models.ForeignKey(Source, on_delete=models.PROTECT, db_constraint=False,
                               db_index=False, related_name="+", verbose_name=_("source"))
    record_id = models.CharField(_("record id"), max_length=128)
    # No constraint or index of its own: rating reads records by id range; cards are
    # never deleted.
    card = models.ForeignKey("cards.Card", on_delete=models.DO_NOTHING, db_constraint=False,
                             db_index=False, related_name="+", verbose_name=_("card"))
    bytes = models.BigIntegerField(_("bytes"))
    # An integer, not a DateTimeField: rating sums records per card and quarter hour of
    # this time, which is integer division here, and a record is written without its
    # time formatted as text (SQLite) by the writer.
    at_us = models.BigIntegerField(
        _("ended at (µs)"), help_text=_("When the usage ended, in microseconds since "
                                        "1970-01-01 00:00 UTC, as sent."))

    class Meta:
        ordering = ["id"]
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
        constraints = [models.UniqueConstraint(fields=["source", "record_id"],
                                               name="usage_record_once")]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.record_id}"

    @property
    def at(self) -> datetime:
        """When the usage ended."""
        return from_microseconds(self.at_us)


class RatingCursor(models.Model):
    """The one row that says how far rating has got: every record with an id up to
    ``through`` is applied, none after it. Writing usage locks this row, so records are
    stored and rated one writer at a time, in id order."""

    through = models.BigIntegerField(_("rated through record"), default=0)

    class Meta:
        verbose_name = _("rating cursor")
        verbose_name_plural = _("rating cursor")

    def __str__(self) -> str:
        return f"through {self.through}"


class RatingRun(models.Model):
    """One transaction of rating: the records with ids in (``after``, ``through``].
    Its usage ledger rows have the reference ``rating:<run id>:<card id>``."""

    after = models.BigIntegerField(_("after record"))
    through = models.BigIntegerField(_("through record"))
    records = models.PositiveIntegerField(_("records"))
    cards = models.PositiveIntegerField(_("cards"))
    rated_at = models.DateTimeField(_("rated at"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("rating run")
        verbose_name_plural = _("rating runs")

    def __str__(self) -> str:
        return f"run {self.pk}: records {self.after + 1}–{self.through}"


USAGE_PREFIX = "usage:"
RATING_PREFIX = "rating:"


def usage_reference(source: str, record_id: str) -> str:
    """The ledger reference of a usage record: ``usage:<source>:<record id>``."""
    return f"{USAGE_PREFIX}{source}:{record_id}"


def rating_reference(run_id: int, card_id: int | str = "") -> str:
    """The ledger reference of what rating run ``run_id`` took from card ``card_id``
    (without a card: the part all of the run's references start with)."""
    return f"{RATING_PREFIX}{run_id}:{card_id}"


def rating_reference_parts(reference: str) -> tuple[int, int] | None:
    """(run id, card id) of ``rating:<run>:<card>`` or ``rating:<run>:<card>:<n>`` (the
    n-th debit of several of the card's records); None for any other reference."""
    parts = reference.split(":")
    if (f"{parts[0]}:" == RATING_PREFIX and len(parts) in (3, 4)
            and all(part.isascii() and part.isdigit() for part in parts[1:])):
        return int(parts[1]), int(parts[2])
    return None


def to_microseconds(at: datetime) -> int:
    """An aware datetime as microseconds since 1970-01-01 00:00 UTC (exact: integer
    arithmetic on the difference)."""
    return (at - EPOCH) // MICROSECOND


def from_microseconds(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)
