"""What staff look up: one search box over customers, cards and orders, and the pages
that gather everything about one customer or one card."""

import re
import uuid
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from simdesk.accounts.models import User
from simdesk.cards.models import Card, NetworkAction
from simdesk.core.models import AuditEntry
from simdesk.notifications.models import Notification
from simdesk.orders.models import Order

SEARCH_LIMIT = 50


@dataclass(frozen=True)
class SearchHit:
    kind: str          # translated: "Customer", "Card", "Order"
    title: str
    detail: str
    url: str


def _as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def staff_search(*, query: str) -> list[SearchHit]:
    """Customers by e-mail, cards by ICCID / IMSI / MSISDN (whole or the start of one),
    orders by id — in one list, customers first. An empty query finds nothing.
    NUL characters are dropped: nothing stored has one, and PostgreSQL refuses them."""
    text = query.replace("\x00", "").strip()
    if not text:
        return []
    hits: list[SearchHit] = []
    key = _as_uuid(text)
    digits = re.sub(r"[\s+\-]", "", text)

    users = User.objects.filter(is_staff=False).filter(
        Q(public_id=key) if key is not None else Q(email__icontains=text))
    for user in users.order_by("email")[:SEARCH_LIMIT]:
        hits.append(SearchHit(_("Customer"), user.email,
                              _("joined %(date)s") % {"date": f"{user.date_joined:%Y-%m-%d}"},
                              reverse("backoffice:customer", args=[user.public_id])))

    cards = Card.objects.select_related("owner")
    if key is not None:
        cards = cards.filter(public_id=key)
    elif digits.isdigit() and len(digits) >= 4:
        cards = cards.filter(Q(iccid__startswith=digits) | Q(imsi__startswith=digits)
                             | Q(msisdn__startswith=digits))
    else:
        cards = cards.none()
    for card in cards.order_by("iccid")[:SEARCH_LIMIT]:
        owner = card.owner.email if card.owner_id else _("not claimed")
        hits.append(SearchHit(_("Card"), card.iccid,
                              f"{card.get_state_display()} · {owner}",
                              reverse("backoffice:card", args=[card.public_id])))

    if key is not None:
        for order in Order.objects.filter(public_id=key).select_related("customer")[:1]:
            hits.append(SearchHit(_("Order"), str(order.public_id),
                                  f"{order.get_status_display()} · {order.total} · "
                                  f"{order.customer.email}",
                                  reverse("backoffice:customer",
                                          args=[order.customer.public_id])))
    return hits


def customer_get_for_staff(*, public_id) -> User:
    try:
        return User.objects.get(public_id=public_id)
    except (User.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def card_get_for_staff(*, public_id) -> Card:
    try:
        return Card.objects.select_related("owner").get(public_id=public_id)
    except (Card.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def customer_orders(*, customer: User) -> QuerySet[Order]:
    return (Order.objects.filter(customer=customer).select_related("card", "period", "payment")
            .order_by("-created_at"))


def customer_notifications(*, customer: User, limit: int = 50) -> QuerySet[Notification]:
    return Notification.objects.filter(user=customer).order_by("-queued_at")[:limit]


def card_network_actions(*, card: Card, limit: int = 50) -> QuerySet[NetworkAction]:
    return NetworkAction.objects.filter(card=card).order_by("-created_at")[:limit]


def audit_about(*, public_id, limit: int = 50) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(target_id=str(public_id))[:limit]
