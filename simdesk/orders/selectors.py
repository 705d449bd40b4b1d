"""Reads about orders that encode a rule: ownership, what is due, what a customer may buy."""

import uuid
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from simdesk.cards.models import Card, CardState, Period, PeriodState
from simdesk.core.errors import NotFound

from .models import Order, OrderStatus


def _uuid(value) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def order_get_for_customer(*, customer, order_public_id: str | uuid.UUID) -> Order:
    """The customer's own order; another customer's order, or a malformed id, is NotFound."""
    key = _uuid(order_public_id)
    order = None
    if key is not None and customer is not None and customer.pk is not None:
        order = (Order.objects.select_related("plan", "card", "period", "payment")
                 .filter(public_id=key, customer=customer).first())
    if order is None:
        raise NotFound(_("We could not find this order in your account."), code="order_not_found")
    return order


def orders_for_customer(*, customer) -> QuerySet[Order]:
    """The customer's orders, newest first, with what the history page shows."""
    return (Order.objects.filter(customer=customer)
            .select_related("plan", "card", "period").prefetch_related("plan__translations")
            .order_by("-created_at", "-id"))


def order_get_by_reference(*, reference: str) -> Order | None:
    """The order a payment or coupon reference (``order:<public_id>``) points at, if any."""
    prefix, _sep, rest = (reference or "").partition(":")
    key = _uuid(rest) if prefix == "order" else None
    if key is None:
        return None
    return Order.objects.filter(public_id=key).first()


def cards_buyable_for_customer(*, customer) -> QuerySet[Card]:
    """The customer's cards a plan can be bought for (a terminated card cannot take one)."""
    return (Card.objects.filter(owner=customer).exclude(state=CardState.TERMINATED)
            .order_by("label", "iccid"))


def orders_due_to_expire(*, now: datetime) -> QuerySet[Order]:
    """Unpaid orders past their payment deadline (a failed attempt included)."""
    return Order.objects.filter(
        status__in=(OrderStatus.PENDING_PAYMENT, OrderStatus.PAYMENT_FAILED),
        expires_at__lte=now,
    ).order_by("pk")


def orders_paid_not_fulfilled(*, now: datetime) -> QuerySet[Order]:
    """Paid orders still without their period (a fulfilment that failed or was lost)."""
    return Order.objects.filter(status=OrderStatus.PAID).filter(
        Q(paid_at__lte=now) | Q(paid_at__isnull=True)).order_by("pk")


def orders_payment_succeeded_not_paid() -> QuerySet[Order]:
    """Orders not marked paid although their payment attempt succeeded.

    The order is marked paid by a receiver of the payment's signal, sent after the
    payment's transaction commits; a process killed, or a database gone away, between
    the two leaves the payment succeeded and its order waiting (then expired) for good.
    """
    from simdesk.payments.models import PaymentStatus

    return Order.objects.filter(paid_at__isnull=True,
                                payment__status=PaymentStatus.SUCCEEDED).order_by("pk")


def esim_inventory() -> QuerySet[Card]:
    """Cards staff imported for sale as new eSIMs: no owner, never claimed, with an
    activation code, not terminated."""
    return (Card.objects.filter(owner__isnull=True, claimed_at__isnull=True)
            .exclude(activation_code="").exclude(state=CardState.TERMINATED).order_by("pk"))


def period_get_for_customer(*, customer, card_public_id, period_public_id) -> Period:
    """A period of one of the customer's cards; another customer's period, a period of
    another card, or a malformed id is NotFound."""
    card_key, period_key = _uuid(card_public_id), _uuid(period_public_id)
    period = None
    if card_key and period_key and customer is not None and customer.pk is not None:
        period = (Period.objects.select_related("card", "plan")
                  .filter(public_id=period_key, card__public_id=card_key, card__owner=customer)
                  .first())
    if period is None:
        raise NotFound(_("We could not find this plan in your account."),
                       code="period_not_found")
    return period


def card_periods_for_refund(*, card: Card) -> QuerySet[Period]:
    """The card's periods a customer may ask to refund (queued, in use or used up),
    newest first."""
    return (Period.objects.filter(card=card, state__in=(PeriodState.QUEUED, PeriodState.ACTIVE,
                                                        PeriodState.EXHAUSTED))
            .select_related("card", "plan").order_by("-created_at", "-id"))
