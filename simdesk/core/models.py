import uuid

from django.db import models


class BaseModel(models.Model):
    """Internal integer key for joins; an opaque ``public_id`` for URLs and the API."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ClockSlot(models.Model):
    """The last time a periodic sweep was enqueued.

    Several clocks may run (one per machine); a sweep is enqueued by whichever
    clock first moves ``last_run_at`` forward with a conditional update.
    """

    name = models.CharField(max_length=100, unique=True)
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name
