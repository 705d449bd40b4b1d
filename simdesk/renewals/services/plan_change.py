"""Changing plan "at period end": what auto-renewal buys next.

(A change "now" is a paid order that replaces the current period:
``simdesk.orders.services.plan_change_order_create``.)
"""

from datetime import datetime

from simdesk.cards.models import Card
from simdesk.cards.selectors import card_get_for_customer
from simdesk.catalog.models import Plan

from ..models import RenewalSettings
from ..selectors import renewal_settings_of
from .settings import renewal_settings_update


def renewal_plan_change(*, card: Card, customer, plan: Plan, currency: str,
                        now: datetime) -> RenewalSettings:
    """Make ``plan`` (priced in ``currency``) what auto-renewal buys next for ``card``,
    keeping every other renewal setting as it is (on or off, triggers, payment method).

    Rules: those of ``renewal_settings_update`` (the card is the customer's; the plan is
    renewable, on sale, queues behind the current period and is priced in ``currency``).
    A plan already bought and queued is not changed: the new plan is the next one bought.
    With auto-renewal off, the choice is kept for when it is switched on.
    Safe to call twice.
    """
    card = card_get_for_customer(customer=customer, card_public_id=card.public_id)
    rs = renewal_settings_of(card=card)
    hours, percent = rs.trigger_before_expiry_hours, rs.trigger_low_data_percent
    if rs.pk is None and hours is None and percent is None:
        hours = RenewalSettings._meta.get_field("trigger_before_expiry_hours").default
    return renewal_settings_update(
        card=card, customer=customer, enabled=rs.enabled, plan=plan,
        currency=currency, trigger_before_expiry_hours=hours, trigger_low_data_percent=percent,
        payment_method=rs.payment_method, now=now)
