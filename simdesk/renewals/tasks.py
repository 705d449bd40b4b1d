"""Renewal jobs: each sweep finds due cards again and enqueues one task per card; the task
calls one service, which claims its row (so duplicate jobs do no harm)."""

from itertools import islice

from django.db import transaction
from django_tasks import task

from simdesk.core.clock import utcnow

BATCH = 500


@task()
def renewals_due_sweep() -> int:
    """Enqueue ``renewal_run`` for every card whose renewal is due now, a batch at a time;
    each batch's cards are marked as handed out first (see ``renewals_mark_enqueued``)."""
    from .selectors import cards_due_for_renewal
    from .services import renewals_mark_enqueued

    now, count = utcnow(), 0
    due = cards_due_for_renewal(now=now)
    while card_ids := [item.card_id for item in islice(due, BATCH)]:
        # One transaction: with the database queue, the marks and the tasks land together.
        with transaction.atomic():
            renewals_mark_enqueued(card_ids=card_ids, now=now)
            for card_id in card_ids:
                renewal_run.enqueue(card_id=card_id)
        count += len(card_ids)
    return count


@task()
def renewal_reminders_sweep() -> int:
    """Enqueue ``renewal_remind_card`` for every card whose renewal reminder is due."""
    from .selectors import cards_due_for_reminder

    count = 0
    for item in cards_due_for_reminder(now=utcnow()):
        renewal_remind_card.enqueue(card_id=item.card_id)
        count += 1
    return count


@task()
def renewal_retries_sweep() -> int:
    """Enqueue ``renewal_run`` for declined renewals whose next try is due, and for
    charges a stopped worker left unfinished."""
    from .selectors import renewal_attempts_due_retry

    card_ids = sorted(set(renewal_attempts_due_retry(now=utcnow())
                          .values_list("card_id", flat=True)))
    for card_id in card_ids:
        renewal_run.enqueue(card_id=card_id)
    return len(card_ids)


@task()
def renewal_run(card_id: int) -> None:
    from simdesk.cards.models import Card

    from .services import renewal_attempt

    card = Card.objects.filter(pk=card_id).first()
    if card is not None:
        renewal_attempt(card=card, now=utcnow())


@task()
def renewal_remind_card(card_id: int) -> None:
    from simdesk.cards.models import Card

    from .services import renewal_remind

    card = Card.objects.filter(pk=card_id).first()
    if card is not None:
        renewal_remind(card=card, now=utcnow())
