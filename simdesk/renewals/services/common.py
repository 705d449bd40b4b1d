"""What the renewal services share: the customer-facing summary and links."""

from django.conf import settings
from django.urls import reverse

from simdesk.cards.models import Card
from simdesk.catalog.models import Plan

from ..models import RenewalSettings
from ..signing import renewal_off_url


def renewal_currency(*, rs: RenewalSettings) -> str:
    customer = rs.card.owner
    for currency in (rs.currency, getattr(customer, "currency", "")):
        if currency in settings.CURRENCIES:
            return currency
    return settings.DEFAULT_CURRENCY


def renewal_summary(*, card: Card, plan: Plan, amount_minor: int, currency: str) -> dict:
    """What every renewal e-mail says (strings and integers only), with both links."""
    customer = card.owner
    path = reverse("portal:card_renewal", args=[card.public_id])
    return {
        "card_iccid": card.iccid,
        "plan_name": plan.name_for(customer.language or "en"),
        "amount_minor": int(amount_minor),
        "currency": currency,
        "settings_url": f"{settings.SITE_URL}{path}",
        "off_url": renewal_off_url(card=card),
    }
