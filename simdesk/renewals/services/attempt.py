"""Renewing a card: claim the attempt, open the order, charge the saved method, then
fulfil (success) or follow the dunning schedule (decline).

Two workers may run this for the same card at once, and a worker may die anywhere:
- the claim happens under a lock of the card's settings row, and a claimed attempt
  stays "charging" with a lease (``claimed_until``), so only one worker charges;
- the order's idempotency key is the attempt's key, so a rerun finds the same order;
- each charge's idempotency key is ``<attempt key>:<try>`` and the try number only
  moves on after a recorded decline, so a rerun after a crash reuses the same charge.

When the bank holds a charge back for the customer to confirm (3-D Secure), the attempt
waits ("authenticating") until ``authenticate_by`` and the customer is e-mailed a link
to the portal page that sends them to the bank. The gateway's webhook then completes
the renewal like any success (``renewal_payment_succeeded``); a failed confirmation, or
a window that passes without one, is recorded as a decline and dunning goes on.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from simdesk.cards.models import Card, PeriodState
from simdesk.core.errors import ServiceError
from simdesk.notifications.messages import (
    notify_renewal_authentication,
    notify_renewal_disabled,
    notify_renewal_failed,
    notify_renewal_succeeded,
)
from simdesk.orders.models import Order, OrderStatus
from simdesk.orders.services import order_create, order_payment_confirmed
from simdesk.payments.gateways.base import GatewayError
from simdesk.payments.models import Payment, PaymentStatus
from simdesk.payments.services import payment_charge_saved_method, payment_reconcile

from ..models import (
    AttemptStatus,
    RenewalAttempt,
    RenewalSettings,
    authentication_window,
    dunning_schedule_hours,
)
from ..selectors import renewal_current_period, renewal_due_reason, renewals_succeeded_recently
from ..webhooks import renewal_failed_emit
from .common import renewal_currency, renewal_summary
from .settings import renewal_disable

logger = logging.getLogger(__name__)

# How long a worker may hold a claimed attempt before another may take it over.
LEASE = timedelta(minutes=10)
# An outcome the gateway has not told us yet is asked about again after this.
UNKNOWN_OUTCOME_RETRY = timedelta(minutes=15)
PAYMENT_UNKNOWN = object()
# A card handed to a renewal task is left out of later sweeps for this long (its task
# may wait behind a backlog); if the task is lost, the card is simply due again after.
# Shorter than LEASE, so a renewal a dead worker never began waits no longer than one
# it began.
ENQUEUE_LEASE = timedelta(minutes=5)
# The customer always gets at least this long to confirm a charge, even when the period
# ends sooner (a low-data renewal close to the end).
MIN_AUTHENTICATION_WINDOW = timedelta(hours=1)


def renewals_mark_enqueued(*, card_ids: list[int], now: datetime) -> None:
    """Record that renewal tasks for ``card_ids`` were handed out at ``now``."""
    RenewalSettings.objects.filter(card_id__in=card_ids).update(
        enqueued_until=now + ENQUEUE_LEASE)


def _max_per_24h() -> int:
    return int(getattr(settings, "RENEWAL_MAX_PER_24H", 2))


def _claim(card: Card, now: datetime) -> RenewalAttempt | None:
    """The attempt this worker may charge now, marked "charging"; None if nothing is due
    or someone else holds it."""
    with transaction.atomic():
        rs = (RenewalSettings.objects.select_for_update().filter(card=card, enabled=True)
              .first())
        if rs is None:
            return None
        attempt = (RenewalAttempt.objects.filter(card=card).exclude(
            status__in=(AttemptStatus.SUCCEEDED, AttemptStatus.GIVEN_UP))
            .order_by("created_at", "pk").first())
        if attempt is not None and attempt.period.state != PeriodState.ACTIVE \
                and attempt.status == AttemptStatus.SCHEDULED:
            # The reminded period ended without a charge (triggers changed): drop it.
            attempt.move(AttemptStatus.GIVEN_UP, at=now, note="period ended first")
            attempt = None
        if attempt is None or attempt.status == AttemptStatus.SCHEDULED:
            period = renewal_current_period(card=card)
            if period is None or card.periods.filter(state=PeriodState.QUEUED).exists():
                return None
            if not renewal_due_reason(rs=rs, period=period, now=now):
                return None
            if attempt is None or attempt.period_id != period.pk:
                attempt = _create(card, period, now)
                if attempt.status != AttemptStatus.SCHEDULED:
                    return None  # a rerun: that attempt is handled through its own status
        elif attempt.status == AttemptStatus.FAILED:
            if attempt.next_attempt_at and attempt.next_attempt_at > now:
                return None
        elif attempt.status == AttemptStatus.AWAITING_AUTHENTICATION:
            if attempt.authenticate_by and attempt.authenticate_by > now:
                return None  # the customer may still confirm the charge
        elif attempt.claimed_until and attempt.claimed_until > now:
            return None  # charging: another worker holds the lease
        if attempt.status in (AttemptStatus.SCHEDULED, AttemptStatus.FAILED):
            if renewals_succeeded_recently(card=card, now=now) >= _max_per_24h():
                logger.warning("renewals: card %s hit the cap of %s renewals in 24 h",
                               card.public_id, _max_per_24h())
                return None
            attempt.attempt_count += 1
            attempt.authenticate_by = None
        attempt.claimed_until = now + LEASE
        attempt.move(AttemptStatus.CHARGING, at=now, note=f"try {attempt.attempt_count}",
                     fields=("attempt_count", "claimed_until", "authenticate_by"))
        return attempt


def _create(card: Card, period, now: datetime) -> RenewalAttempt:
    key = RenewalAttempt.key_for(card=card, period=period)
    try:
        with transaction.atomic():
            attempt, _created = RenewalAttempt.objects.get_or_create(
                idempotency_key=key,
                defaults={"card": card, "period": period, "next_attempt_at": now})
    except IntegrityError:
        attempt = RenewalAttempt.objects.get(idempotency_key=key)
    return attempt


def renewal_attempt(*, card: Card, now: datetime) -> RenewalAttempt | None:
    """Renew ``card`` if it is due (or retry its declined renewal if the retry is due).

    Rules: auto-renewal is on; the current period meets a trigger and has not been
    renewed; at most RENEWAL_MAX_PER_24H successful renewals per card in any 24 h.
    An order for the chosen plan is paid with the saved method; on success it is
    fulfilled (the new period queues behind the current one, so it starts exactly
    when the current one ends) and the customer is told. A decline is retried after
    each of RENEWAL_DUNNING_SCHEDULE hours, the customer told each time; after the
    last retry auto-renewal switches off and the customer is told. A charge the bank
    holds for the customer's confirmation waits until ``authenticate_by`` (the customer
    is e-mailed a link); run after that, it counts as a decline unless the gateway, asked
    once more, says it went through.

    Safe to call twice and concurrently: one period is charged for at most once.
    Returns the attempt it worked on, or None if nothing was due.
    """
    attempt = _claim(card, now)
    if attempt is None:
        return None
    rs = RenewalSettings.objects.select_related("card__owner", "plan", "payment_method").get(
        card=card)
    card = rs.card
    customer = card.owner
    plan = rs.plan or attempt.period.plan
    currency = renewal_currency(rs=rs)
    try:
        order = attempt.order or order_create(
            customer=customer, card=card, plan=plan, currency=currency,
            idempotency_key=attempt.order_key, now=now, language=customer.language or "")
        if attempt.order_id is None:
            attempt.order = order
            attempt.save(update_fields=["order", "updated_at"])
        if rs.payment_method is None:
            raise ServiceError(_("No saved payment method is chosen for auto-renewal."),
                               code="no_payment_method")
        with transaction.atomic():
            # The order row stays locked over the charge, as at checkout: a customer who
            # pays this order by hand meanwhile is not charged a second time here.
            order = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
            if order.paid_at is not None:
                payment = None
            else:
                try:
                    payment = payment_charge_saved_method(
                        customer=customer, method=rs.payment_method,
                        amount_minor=order.total_minor, currency=order.currency,
                        reference=attempt.idempotency_key,
                        idempotency_key=f"{attempt.idempotency_key}:{attempt.attempt_count}",
                        now=now)
                except GatewayError:
                    payment = PAYMENT_UNKNOWN
    except ServiceError as error:
        with translation.override(customer.language or "en"):
            return _declined(attempt, rs, plan, str(error.message), now)
    if payment is PAYMENT_UNKNOWN:
        # The outcome is unknown: keep the claim and ask again (same charge key) later.
        logger.warning("renewals: gateway error for %s; retrying later", attempt.idempotency_key)
        RenewalAttempt.objects.filter(pk=attempt.pk).update(
            claimed_until=now + UNKNOWN_OUTCOME_RETRY)
        return attempt
    summary = renewal_summary(card=card, plan=plan, amount_minor=order.total_minor,
                              currency=order.currency)
    window_passed = attempt.authenticate_by is not None
    if payment is not None and window_passed and payment.status in (
            PaymentStatus.REQUIRES_ACTION, PaymentStatus.PENDING):
        # Before calling it a decline, ask the gateway once (a confirmation whose webhook
        # was lost or is late).
        payment_reconcile(payment=payment, now=now)
        payment.refresh_from_db()
    if payment is None or payment.status == PaymentStatus.SUCCEEDED:
        return _succeeded(attempt, order, payment, summary, now)
    if payment.status == PaymentStatus.REQUIRES_ACTION and not window_passed:
        return _await_authentication(attempt, order, payment, summary, now)
    if payment.status == PaymentStatus.PENDING and not window_passed:
        RenewalAttempt.objects.filter(pk=attempt.pk).update(
            claimed_until=now + UNKNOWN_OUTCOME_RETRY)
        return attempt
    with translation.override(customer.language or "en"):
        if payment.status in (PaymentStatus.REQUIRES_ACTION, PaymentStatus.PENDING):
            reason = _("You did not confirm the payment with your bank in time.")
        else:
            reason = str(payment.failure_reason)
    return _declined(attempt, rs, plan, reason, now, order=order, payment=payment)


def _await_authentication(attempt: RenewalAttempt, order: Order, payment: Payment,
                          summary: dict, now: datetime) -> RenewalAttempt:
    """Park the attempt until the customer confirms the charge, and e-mail them the link."""
    ends_at = attempt.period.ends_at
    by = now + authentication_window()
    if ends_at is not None and ends_at > now:
        # Confirmed before the period ends, the new one still starts without a gap (a
        # retry after the end has no gap left to avoid and gets the whole window).
        by = min(by, max(ends_at, now + MIN_AUTHENTICATION_WINDOW))
    with transaction.atomic():
        locked = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
        if locked.payment_id != payment.pk:
            locked.payment = payment
            locked.payment_attempts = attempt.attempt_count
            locked.save(update_fields=["payment", "payment_attempts", "updated_at"])
        attempt = RenewalAttempt.objects.select_for_update().get(pk=attempt.pk)
        if attempt.status != AttemptStatus.CHARGING:
            return attempt  # the webhook was quicker: the renewal is already done
        attempt.await_authentication(by=by, at=now)
        path = reverse("portal:payment_authenticate", args=[payment.public_id])
        notify_renewal_authentication(
            user=order.customer, renewal=summary, authenticate_url=f"{settings.SITE_URL}{path}",
            authenticate_by=by,
            card_label=payment.saved_method.label if payment.saved_method else "",
            dedupe_key=f"{attempt.idempotency_key}:authenticate:{attempt.attempt_count}",
            now=now)
    logger.info("renewals: %s waits for the customer to confirm %s until %s",
                attempt.idempotency_key, payment.public_id, by.isoformat())
    return attempt


def _attempt_of(payment: Payment) -> RenewalAttempt | None:
    return (RenewalAttempt.objects.filter(idempotency_key=payment.reference)
            .select_related("card__owner", "period", "order").first())


def renewal_payment_succeeded(*, payment: Payment, now: datetime) -> RenewalAttempt | None:
    """The gateway says a renewal charge went through (e.g. once the customer confirmed it
    with their bank): the renewal completes exactly as an immediate success would.

    Rules: any charge of the attempt that succeeded renews the card (the money was
    taken, even after its window closed); the order is confirmed once, so one period.
    Payments of anything else are ignored. Safe to call twice and concurrently.
    """
    attempt = _attempt_of(payment)
    if attempt is None or attempt.status == AttemptStatus.SUCCEEDED:
        return attempt
    order = Order.objects.filter(payment=payment).first() or attempt.order
    if order is None:
        return attempt
    summary = renewal_summary(card=attempt.card, plan=order.plan,
                              amount_minor=order.total_minor, currency=order.currency)
    return _succeeded(attempt, order, payment, summary, now)


def renewal_payment_failed(*, payment: Payment, now: datetime) -> RenewalAttempt | None:
    """The customer failed (or refused) to confirm a charge their bank held back: the
    renewal counts as declined now, without waiting for the window to pass. Other
    payments are ignored. Safe to call twice."""
    attempt = _attempt_of(payment)
    if attempt is None or payment.idempotency_key != (
            f"{attempt.idempotency_key}:{attempt.attempt_count}"):
        return None
    closed = RenewalAttempt.objects.filter(
        pk=attempt.pk, status=AttemptStatus.AWAITING_AUTHENTICATION).update(
        authenticate_by=now)
    if not closed:
        return None
    return renewal_attempt(card=attempt.card, now=now)


def _succeeded(attempt: RenewalAttempt, order: Order, payment, summary: dict,
               now: datetime) -> RenewalAttempt:
    with transaction.atomic():
        locked = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
        if payment is not None and locked.payment_id != payment.pk:
            locked.payment = payment
            locked.save(update_fields=["payment", "updated_at"])
        order = order_payment_confirmed(order=locked, now=now,
                                        note="renewal payment "
                                             f"{payment.public_id if payment else '-'}")
        attempt = RenewalAttempt.objects.select_for_update().get(pk=attempt.pk)
        if attempt.status == AttemptStatus.SUCCEEDED:
            return attempt
        attempt.mark_succeeded(at=now)
        period = order.period
        notify_renewal_succeeded(user=order.customer, renewal=summary,
                                 starts_at=period.starts_at if period else None,
                                 dedupe_key=f"{attempt.idempotency_key}:succeeded", now=now)
    logger.info("renewals: %s renewed by %s", attempt.idempotency_key, order.public_id)
    return attempt


def _declined(attempt: RenewalAttempt, rs: RenewalSettings, plan, reason: str, now: datetime,
              *, order: Order | None = None, payment=None) -> RenewalAttempt:
    schedule = dunning_schedule_hours()
    card = rs.card
    price = plan.price_in(renewal_currency(rs=rs))
    summary = renewal_summary(card=card, plan=plan, currency=renewal_currency(rs=rs),
                              amount_minor=price.amount_minor if price else 0)
    with transaction.atomic():
        if order is not None:
            locked = Order.objects.select_for_update(of=("self",)).get(pk=order.pk)
            if payment is not None and locked.payment_id != payment.pk:
                locked.payment = payment
                locked.payment_attempts = attempt.attempt_count
                locked.save(update_fields=["payment", "payment_attempts", "updated_at"])
            if locked.status == OrderStatus.PENDING_PAYMENT:
                locked.mark_payment_failed(at=now, message=reason)
        attempt = RenewalAttempt.objects.select_for_update().get(pk=attempt.pk)
        if attempt.status != AttemptStatus.CHARGING:
            return attempt
        attempt.failure_message = reason[:300]
        attempt.claimed_until = None
        attempt.authenticate_by = None
        retries_done = attempt.attempt_count - attempt.round_start
        if retries_done < len(schedule):
            attempt.next_attempt_at = now + timedelta(hours=schedule[retries_done])
            attempt.move(AttemptStatus.FAILED, at=now, note=reason,
                         fields=("failure_message", "claimed_until", "next_attempt_at",
                                 "authenticate_by"))
            notify_renewal_failed(user=card.owner, renewal=summary, reason=reason,
                                  next_attempt_at=attempt.next_attempt_at,
                                  dedupe_key=f"{attempt.idempotency_key}:failed:"
                                             f"{attempt.attempt_count}", now=now)
        else:
            attempt.next_attempt_at = None
            attempt.move(AttemptStatus.GIVEN_UP, at=now, note=reason,
                         fields=("failure_message", "claimed_until", "next_attempt_at",
                                 "authenticate_by"))
            renewal_disable(card=card, reason="payment declined after the last retry", now=now)
            notify_renewal_disabled(user=card.owner, renewal=summary, reason=reason,
                                    dedupe_key=f"{attempt.idempotency_key}:disabled", now=now)
        renewal_failed_emit(attempt=attempt, plan=plan, currency=summary["currency"],
                            amount_minor=summary["amount_minor"], reason=reason, now=now)
    logger.info("renewals: %s declined (try %s): %s", attempt.idempotency_key,
                attempt.attempt_count, reason)
    return attempt
