"""The pause panel of a card's page: what the customer can do about pausing the card."""

from django import template
from django.utils import timezone

from simdesk.cards.selectors import card_pause_status

register = template.Library()


@register.inclusion_tag("portal/cards/_pause.html")
def card_pause_panel(card):
    """``{% card_pause_panel card %}``: nothing for a plan that cannot be paused."""
    now = timezone.now()
    return {"card": card, "status": card_pause_status(card=card, now=now), "now": now}
