"""Template helpers for the card pages: data sizes in words, and the home page's card list."""

from django import template
from django.utils import timezone

from simdesk.core.units import format_bytes
from simdesk.portal.cards import customer_card_summaries, plans_url

register = template.Library()


@register.filter
def data_size(value) -> str:
    """``{{ card.remaining_bytes|data_size }}`` → "2.1 GB" in the active language."""
    if value is None or value == "":
        return ""
    return format_bytes(int(value))


@register.inclusion_tag("portal/cards/_home_cards.html", takes_context=True)
def home_cards(context):
    """The signed-in home page's compact list of the customer's cards."""
    request = context["request"]
    now = timezone.now()
    return {
        "summaries": customer_card_summaries(customer=request.user, now=now),
        "now": now,
        "plans_url": plans_url(),
    }
