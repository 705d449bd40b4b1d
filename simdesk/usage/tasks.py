"""Thin tasks: the sweep finds cards that may owe an alert, the per-card task checks one;
the rating sweep applies stored records that nobody rated."""

from django_tasks import task

from simdesk.core.clock import utcnow


@task()
def usage_rate_pending_sweep() -> int:
    """Rate every stored record still waiting: records a process stored but did not get
    to rate (killed in between, an import stopped). Usually there are none, and the API
    and RADIUS rate their own at once. Returns how many records it rated."""
    from .services import usage_rate_pending

    return usage_rate_pending(now=utcnow()).applied


@task()
def alerts_sweep() -> int:
    """Enqueue one ``card_alerts_check`` per card that may have crossed a threshold."""
    from .selectors import cards_due_for_alerts

    count = 0
    for card_id in cards_due_for_alerts(now=utcnow()).values_list("pk", flat=True).iterator():
        card_alerts_check.enqueue(card_id=card_id)
        count += 1
    return count


@task()
def card_alerts_check(card_id: int) -> int:
    from simdesk.cards.models import Card

    from .alerts import alerts_check_card

    card = Card.objects.filter(pk=card_id).first()
    return len(alerts_check_card(card=card, now=utcnow())) if card is not None else 0
