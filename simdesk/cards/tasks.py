"""Jobs are hints, the database is the truth: the sweep finds due cards again every minute."""

from django_tasks import task

from simdesk.core.clock import utcnow


@task()
def cards_advance_sweep() -> int:
    """Enqueue one ``card_advance`` per card with periods to expire, exhaust or start."""
    from .selectors import cards_with_due_work

    count = 0
    for card_id in cards_with_due_work(now=utcnow()).values_list("pk", flat=True).iterator():
        card_advance.enqueue(card_id=card_id)
        count += 1
    return count


@task()
def card_advance(card_id: int) -> None:
    from .models import Card
    from .services import periods_advance

    card = Card.objects.filter(pk=card_id).first()
    if card is not None:
        periods_advance(card=card, now=utcnow())


@task()
def cards_pause_expire_sweep() -> int:
    """Enqueue one ``card_pause_expire_task`` per card whose pause reached its maximum."""
    from .selectors import cards_pause_due

    count = 0
    for card_id in cards_pause_due(now=utcnow()).values_list("pk", flat=True).iterator():
        card_pause_expire_task.enqueue(card_id=card_id)
        count += 1
    return count


@task()
def card_pause_expire_task(card_id: int) -> bool:
    from .models import Card
    from .services import card_pause_expire

    card = Card.objects.filter(pk=card_id).first()
    return card is not None and card_pause_expire(card=card, now=utcnow())
