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
