"""Asking the network to act on a card: write the request, carry it out after commit, retry.

Jobs are hints, the database is the truth: the NetworkAction row is the request;
the task that performs it may be lost or run twice, and the clock finds due rows
again. A row is claimed with a conditional UPDATE, so two workers never send the
same request at the same time.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.module_loading import import_string

from simdesk.cards.models import Card, NetworkAction, NetworkActionKind, NetworkActionStatus

from .base import NetworkAdapter, NetworkError, NetworkRejected

logger = logging.getLogger(__name__)

ADAPTERS = {
    "simulated": "simdesk.cards.network.simulated.SimulatedNetworkAdapter",
    "radius": "simdesk.cards.network.radius.RadiusNetworkAdapter",
}
MAX_ATTEMPTS = 8
# A worker that claimed a request and stopped leaves it "running"; offer it again after this.
STALE_CLAIM = timedelta(minutes=10)


def get_network_adapter() -> NetworkAdapter:
    """The configured adapter: a short name from ``ADAPTERS`` or a dotted class path."""
    name = getattr(settings, "NETWORK_ADAPTER", "") or "simulated"
    return import_string(ADAPTERS.get(name, name))()


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1, 2, 4 … minutes after each failed try, at most an hour."""
    return min(timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), timedelta(hours=1))


def network_request(*, card: Card, action: str, reason: str, now: datetime,
                    dedupe_key: str | None = None) -> NetworkAction:
    """Record that the network must ``action`` (activate/suspend/resume/disconnect) the card,
    and carry it out through the adapter once the surrounding transaction commits.

    Each call is one request, except that calls with the same ``dedupe_key`` make
    one (the first row is returned). A rolled back transaction requests nothing.
    """
    from .tasks import network_action_perform_task

    if action not in NetworkActionKind.values:
        raise ValueError(f"unknown network action {action!r}")
    if dedupe_key:
        existing = NetworkAction.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            row = NetworkAction.objects.create(
                card=card, action=action, reason=reason[:200], dedupe_key=dedupe_key or None,
                requested_at=now, next_attempt_at=now,
            )
    except IntegrityError:
        # The same dedupe_key was written by a concurrent caller a moment ago.
        return NetworkAction.objects.get(dedupe_key=dedupe_key)
    pk = row.pk
    transaction.on_commit(lambda: network_action_perform_task.enqueue(action_id=pk))
    return row


def network_action_claim(*, action_id: int, now: datetime) -> bool:
    due = (Q(status__in=(NetworkActionStatus.PENDING, NetworkActionStatus.FAILED),
             next_attempt_at__lte=now)
           | Q(status=NetworkActionStatus.RUNNING, claimed_at__lte=now - STALE_CLAIM))
    return NetworkAction.objects.filter(due, pk=action_id).update(
        status=NetworkActionStatus.RUNNING, claimed_at=now, attempts=F("attempts") + 1,
        updated_at=now,
    ) == 1


def network_action_perform(*, action_id: int, now: datetime,
                           adapter: NetworkAdapter | None = None) -> bool:
    """Carry out one requested action if it is due and nobody else is on it.

    True when the network confirmed it. A retryable failure leaves the row failed
    and due again after a growing delay, up to ``MAX_ATTEMPTS``; a refusal is
    final. Safe to call repeatedly: a done action is never sent again.
    """
    if not network_action_claim(action_id=action_id, now=now):
        return False
    row = NetworkAction.objects.select_related("card").get(pk=action_id)
    adapter = adapter or get_network_adapter()
    try:
        result = adapter.perform(action=row.action, card=row.card, reference=str(row.public_id))
    except Exception as error:
        final = isinstance(error, NetworkRejected) or row.attempts >= MAX_ATTEMPTS
        if not isinstance(error, NetworkError):
            logger.exception("network action %s (%s card %s) crashed", row.public_id,
                             row.action, row.card.iccid)
        else:
            logger.warning("network action %s (%s card %s) failed on attempt %s: %s",
                           row.public_id, row.action, row.card.iccid, row.attempts, error)
        NetworkAction.objects.filter(pk=row.pk, status=NetworkActionStatus.RUNNING).update(
            status=NetworkActionStatus.FAILED, adapter=adapter.name,
            next_attempt_at=None if final else now + retry_delay(row.attempts),
            detail=f"{type(error).__name__}: {error}"[:2000], updated_at=now,
        )
        return False
    detail = result.detail + (f" [{result.external_id}]" if result.external_id else "")
    NetworkAction.objects.filter(pk=row.pk, status=NetworkActionStatus.RUNNING).update(
        status=NetworkActionStatus.DONE, adapter=adapter.name, completed_at=now,
        next_attempt_at=None, detail=detail[:2000], updated_at=now,
    )
    return True


def network_actions_due(*, now: datetime):
    """Requests to (re)try now, and ones left running by a worker that stopped."""
    return NetworkAction.objects.filter(
        Q(status__in=(NetworkActionStatus.PENDING, NetworkActionStatus.FAILED),
          next_attempt_at__lte=now)
        | Q(status=NetworkActionStatus.RUNNING, claimed_at__lte=now - STALE_CLAIM)
    ).order_by("next_attempt_at", "id")


def network_action_retry(*, action: NetworkAction, now: datetime) -> bool:
    """Offer a failed (or given-up) request to the network again now, with fresh attempts.

    For staff, once the cause is fixed. Returns False, changing nothing, unless the
    request had failed.
    """
    from .tasks import network_action_perform_task

    updated = NetworkAction.objects.filter(
        pk=action.pk, status=NetworkActionStatus.FAILED
    ).update(status=NetworkActionStatus.PENDING, attempts=0, next_attempt_at=now,
             updated_at=now)
    if updated:
        pk = action.pk
        transaction.on_commit(lambda: network_action_perform_task.enqueue(action_id=pk))
    return updated == 1
