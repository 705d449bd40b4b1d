"""Template helpers for the Buy form on a plan page."""

import uuid

from django import template

from simdesk.orders.selectors import cards_buyable_for_customer

register = template.Library()


@register.simple_tag(takes_context=True)
def buy_choices(context) -> dict:
    """The signed-in customer's cards a plan can be bought for, the card chosen in the
    query string (``?card=<id>`` from a card page), and a fresh idempotency key for the
    form (made now, so resubmitting this rendered form finds the same order)."""
    request = context["request"]
    cards = list(cards_buyable_for_customer(customer=request.user)) \
        if request.user.is_authenticated else []
    wanted = request.GET.get("card", "")
    selected = next((str(c.public_id) for c in cards if str(c.public_id) == wanted), "")
    if not selected and cards:
        selected = str(cards[0].public_id)
    return {"cards": cards, "selected": selected or "new", "key": str(uuid.uuid4())}
