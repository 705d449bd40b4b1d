"""Changing a card's auto-renewal settings, and switching it off."""

from datetime import datetime

from django.conf import settings as django_settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from simdesk.cards.models import Card
from simdesk.cards.selectors import card_get_for_customer
from simdesk.catalog.models import Plan
from simdesk.core.errors import NotFound, ServiceError
from simdesk.payments.models import SavedPaymentMethod

from ..models import AttemptStatus, RenewalAttempt, RenewalSettings
from ..selectors import payment_methods_for, renewable_plans, renewal_current_period

MAX_BEFORE_EXPIRY_HOURS = 24 * 14


def _lock_settings(card: Card) -> RenewalSettings:
    RenewalSettings.objects.get_or_create(card=card)
    return RenewalSettings.objects.select_for_update().get(card=card)


def renewal_settings_update(*, card: Card, customer, enabled: bool, plan: Plan | None,
                            currency: str, trigger_before_expiry_hours: int | None,
                            trigger_low_data_percent: int | None,
                            payment_method: SavedPaymentMethod | None,
                            now: datetime) -> RenewalSettings:
    """Save ``card``'s auto-renewal settings for its owner ``customer``.

    Rules: the card is the customer's; the plan (default: the current period's plan)
    is renewable, on sale, queues behind the current period and is priced in
    ``currency``; at least one trigger is on (hours 1–336, percent 1–99); switching
    on needs a saved payment method of the customer's. Nothing is saved on refusal.
    Safe to call twice.
    """
    card = card_get_for_customer(customer=customer, card_public_id=card.public_id)
    currency = (currency or "").strip().upper()
    if currency not in django_settings.CURRENCIES:
        raise ServiceError(_("We do not sell in %(currency)s. Choose another currency.")
                           % {"currency": currency}, code="currency_not_sold")
    if plan is None:
        current = renewal_current_period(card=card)
        plan = current.plan if current is not None else None
    if plan is None or not renewable_plans().filter(pk=plan.pk).exists():
        raise ServiceError(_("This plan cannot be renewed automatically. Choose one of the "
                             "plans listed."), code="plan_not_renewable")
    if plan.price_in(currency) is None:
        raise ServiceError(_("This plan is not sold in %(currency)s. Choose another "
                             "currency.") % {"currency": currency}, code="no_price")
    hours, percent = trigger_before_expiry_hours, trigger_low_data_percent
    if hours is not None and not 1 <= hours <= MAX_BEFORE_EXPIRY_HOURS:
        raise ServiceError(_("Renew between 1 and %(max)d hours before the plan ends.")
                           % {"max": MAX_BEFORE_EXPIRY_HOURS}, code="invalid_hours")
    if percent is not None and not 1 <= percent <= 99:
        raise ServiceError(_("The low-data level must be between 1 and 99 percent."),
                           code="invalid_percent")
    if enabled and hours is None and percent is None:
        raise ServiceError(_("Choose when to renew: before the plan ends, when data runs "
                             "low, or both."), code="no_trigger")
    if payment_method is not None and not payment_methods_for(customer=customer).filter(
            pk=payment_method.pk).exists():
        raise NotFound(_("This payment method was not found. Choose another one."),
                       code="method_not_found")
    if enabled and payment_method is None:
        raise ServiceError(_("Auto-renewal needs a saved payment method: choose one."),
                           code="no_payment_method")
    with transaction.atomic():
        rs = _lock_settings(card)
        if enabled and not rs.enabled:
            _restart_given_up(card, now)
        rs.enabled = enabled
        rs.plan = plan
        rs.currency = currency
        rs.trigger_before_expiry_hours = hours
        rs.trigger_low_data_percent = percent
        rs.payment_method = payment_method
        rs.disabled_reason = "" if enabled else (rs.disabled_reason or "customer")
        rs.changed_at = now
        rs.save()
        if not enabled:
            _give_up_open_attempts(card, now, "switched off by the customer")
    return rs


def _restart_given_up(card: Card, now: datetime) -> None:
    """Switching on again after a give-up: the current period may be tried again."""
    current = renewal_current_period(card=card)
    if current is None:
        return
    for attempt in RenewalAttempt.objects.filter(card=card, period=current,
                                                 status=AttemptStatus.GIVEN_UP):
        attempt.restart(at=now)


def _give_up_open_attempts(card: Card, now: datetime, note: str) -> None:
    # A charge in flight ("charging") finishes; anything merely waiting is dropped (a
    # charge the customer still confirms with their bank afterwards renews the card).
    for attempt in RenewalAttempt.objects.filter(
            card=card, status__in=(AttemptStatus.SCHEDULED, AttemptStatus.FAILED,
                                   AttemptStatus.AWAITING_AUTHENTICATION)):
        attempt.next_attempt_at = None
        attempt.authenticate_by = None
        attempt.move(AttemptStatus.GIVEN_UP, at=now, note=note,
                     fields=("next_attempt_at", "authenticate_by"))


def renewal_disable(*, card: Card, reason: str, now: datetime) -> RenewalSettings:
    """Switch auto-renewal off for ``card`` (the customer, the one-click link, or the
    end of dunning), noting why; waiting retries are dropped. Safe to call twice."""
    with transaction.atomic():
        rs = _lock_settings(card)
        if rs.enabled:
            rs.enabled = False
            rs.disabled_reason = reason[:200]
            rs.changed_at = now
            rs.save(update_fields=["enabled", "disabled_reason", "changed_at", "updated_at"])
        _give_up_open_attempts(card, now, reason)
    return rs
