"""Changing plan "now": a normal paid order for the new plan that replaces a period.

The flow (``at_period_end`` is auto-renewal's business: ``renewal_plan_change``):

1. ``plan_change_order_create`` opens an order for the new plan that carries the
   period it replaces and the refund quoted for that period at that moment; the
   checkout page shows that amount before the customer pays.
2. When the order is fulfilled, ``plan_change_close_replaced`` (called by fulfilment,
   under the order's lock, before the new period is made) closes the old period, so
   the new one is active at once whatever its stacking rule.
3. After commit, ``plan_change_refund`` refunds the old period's unused part to its
   original payment (a ``RefundRequest`` with cause ``plan_change``); the sweep
   ``plan_changes_refund_due`` finds any refund a crash left undone.

The amount refunded is exactly the one shown, unless data was used on the old period
between the quote and the payment: the days share stays measured at the quote (the
customer is not charged for the minutes spent paying, while the order is open), the
data share is measured when the old period is closed, and the smaller share wins as
always. A payment arriving after the order expired is measured then, days included.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from simdesk.cards.models import CardState, Period, PeriodState
from simdesk.cards.services import card_lock, period_close, periods_advance
from simdesk.catalog.models import Plan, PlanKind
from simdesk.core.errors import Conflict, NotFound, ServiceError

from ..models import Order, OrderStatus, RefundCause, RefundRequest, RefundRequestStatus
from ..refunds import period_refund_quote, prorata_amount_minor, prorata_share
from .create import order_create
from .refund_requests import _refund_execute, refund_key

logger = logging.getLogger(__name__)


def plan_change_quote_minor(*, period: Period, now: datetime) -> int:
    """What a plan change "now" at ``now`` refunds for ``period``: the pro-rata amount, or
    0 when the period cannot be refunded (not bought with a payment, already refunded…)."""
    try:
        quote = period_refund_quote(period=period, now=now)
    except ServiceError:
        return 0
    return min(quote.prorata_minor, quote.refundable_minor)


def _check_change(*, customer, period: Period, plan: Plan) -> None:
    card = period.card
    if card.owner_id is None or card.owner_id != getattr(customer, "pk", None):
        raise NotFound(_("We could not find this plan in your account."),
                       code="period_not_found")
    if card.state != CardState.ACTIVE:
        raise ServiceError(_("The plan of a card can be changed now only while the card is "
                             "active."), code="card_not_active")
    if period.state != PeriodState.ACTIVE:
        raise ServiceError(_("Only the plan in use can be changed now. A plan that has not "
                             "started can be refunded instead."), code="period_not_active")
    if plan.kind != PlanKind.BASE:
        raise ServiceError(_("A top-up adds data to a plan; it cannot replace one. Choose a "
                             "plan."), code="plan_is_topup")
    if plan.pk == period.plan_id:
        raise ServiceError(_("This is already the plan of this card. Choose another plan."),
                           code="same_plan")
    others = card.periods.filter(state__in=(PeriodState.ACTIVE, PeriodState.QUEUED)).exclude(
        pk=period.pk)
    if others.exists():
        # The new period must take the old one's place at once; with other plans running
        # or queued on the card, which one the customer means to replace is unclear.
        raise ServiceError(_("This card has other plans running or waiting, so its plan "
                             "cannot be changed now. Change it at the end of the period "
                             "instead."), code="other_periods_open")
    if RefundRequest.objects.filter(period=period).exists():
        raise Conflict(_("A refund of this plan was already asked for."),
                       code="refund_requested")


def plan_change_preview(*, customer, period: Period, plan: Plan, now: datetime) -> int:
    """What changing ``period`` to ``plan`` now would refund, quoted at ``now``; refuses
    (like ``plan_change_order_create``) a change that cannot be made. Writes nothing."""
    period = Period.objects.select_related("card").get(pk=period.pk)
    _check_change(customer=customer, period=period, plan=plan)
    return plan_change_quote_minor(period=period, now=now)


def plan_change_order_create(*, customer, period: Period, plan: Plan, currency: str,
                             idempotency_key: str, now: datetime,
                             language: str = "") -> Order:
    """Open the order that changes ``period``'s plan to ``plan`` now, with the refund of
    ``period`` quoted at ``now`` recorded on it (shown at checkout, refunded once the
    order is fulfilled).

    Rules: the period is on the customer's card (else NotFound), in use (active) and the
    only open period of an active card; the new plan is another base plan; plus every
    rule of ``order_create`` (on sale, priced in ``currency``…).

    Safe to call twice: the same ``idempotency_key`` returns the same order and keeps
    the first quote.
    """
    key = f"plan-change:{idempotency_key.strip()}" if (idempotency_key or "").strip() else ""
    if key:
        existing = Order.objects.filter(customer=customer, idempotency_key=key).first()
        if existing is not None and existing.replaces_period_id == period.pk:
            return existing  # a second submit of the same form
    period = Period.objects.select_related("card").get(pk=period.pk)
    _check_change(customer=customer, period=period, plan=plan)
    with transaction.atomic():
        order = order_create(customer=customer, card=period.card, plan=plan,
                             currency=currency, idempotency_key=key, now=now,
                             language=language)
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.replaces_period_id is None and order.status in (
                OrderStatus.PENDING_PAYMENT, OrderStatus.PAYMENT_FAILED):
            order.replaces_period = period
            order.plan_change_refund_minor = plan_change_quote_minor(period=period, now=now)
            order.plan_change_quoted_at = now
            order.save(update_fields=["replaces_period", "plan_change_refund_minor",
                                      "plan_change_quoted_at", "updated_at"])
        elif order.replaces_period_id != period.pk:
            raise Conflict(_("This form was already used for another order. Reload the page "
                             "and try again."), code="idempotency_conflict")
    return order


def plan_change_close_replaced(*, order: Order, now: datetime) -> Period | None:
    """Fulfilment of a plan-change order: close the period it replaces and fix the refund.

    Called by ``order_fulfil`` under the order's lock, before the new period is made,
    so that period starts at once. The old period is ``refunded`` when money goes back,
    ``cancelled`` when nothing does; a period that already ended (used up, expired,
    refunded) is left alone and nothing is refunded. Safe to call twice (the closing reference is
    the order's).
    """
    if order.replaces_period_id is None:
        return None
    with transaction.atomic():
        # Whatever ended before the payment arrived ends first (an old period past its end
        # is expired, not refunded), so closing never meets a period that cannot close.
        periods_advance(card=order.replaces_period.card, now=now)
        old = Period.objects.select_related("card").get(pk=order.replaces_period_id)
        reference = f"plan-change:{order.public_id}"
        if old.state not in (PeriodState.ACTIVE, PeriodState.QUEUED):
            if order.plan_change_refund_minor and not old.ledger.filter(
                    reference=reference).exists():
                # It ended some other way first (used up, expired, refunded): nothing of
                # it is left to give back, and a used-up period stays as it is.
                order.plan_change_refund_minor = 0
                order.save(update_fields=["plan_change_refund_minor", "updated_at"])
            return old
        amount = _final_refund(order=order, old=old, now=now)
        order.plan_change_refund_minor = amount
        order.save(update_fields=["plan_change_refund_minor", "updated_at"])
        period_close(period=old, to=PeriodState.REFUNDED if amount else PeriodState.CANCELLED,
                     reference=reference, now=now)
        old.refresh_from_db()
    return old


def _final_refund(*, order: Order, old: Period, now: datetime) -> int:
    quoted = int(order.plan_change_refund_minor or 0)
    if quoted == 0:
        return 0
    time_at = order.plan_change_quoted_at if now <= order.expires_at else now
    try:
        quote = period_refund_quote(period=old, now=now, time_at=time_at)
    except ServiceError:
        return 0
    share = prorata_share(unused_seconds=quote.unused_seconds,
                          total_seconds=quote.total_seconds, unused_bytes=quote.unused_bytes,
                          total_bytes=quote.total_bytes)
    amount = prorata_amount_minor(paid_minor=quote.paid_minor, share=share)
    return min(quoted, amount, quote.refundable_minor)


def plan_change_refund(*, order: Order, now: datetime) -> RefundRequest | None:
    """Refund the unused part of the period a fulfilled plan-change order replaced (the
    amount fixed when it was closed) to that period's original payment, and e-mail
    the customer.

    Safe to call any number of times, concurrently too: the period's one refund
    request (and its gateway idempotency key) makes it happen once. Returns the
    request, or None when there is nothing to refund.
    """
    order = Order.objects.select_related("replaces_period__card").get(pk=order.pk)
    amount = int(order.plan_change_refund_minor or 0)
    if order.replaces_period_id is None or amount == 0 or order.period_id is None:
        return None
    with transaction.atomic():
        card_lock(order.replaces_period.card)
        old = Period.objects.select_related("card").get(pk=order.replaces_period_id)
        existing = RefundRequest.objects.filter(period=old).first()
        if existing is not None:
            if existing.cause != RefundCause.PLAN_CHANGE:
                logger.warning("orders: plan change %s found refund request %s of period %s; "
                               "left to staff", order.public_id, existing.public_id,
                               old.public_id)
            return existing
        old_order = Order.objects.select_related("payment").filter(period=old).first()
        if old_order is None or old_order.payment is None:
            return None
        rr = RefundRequest.objects.create(
            customer=order.customer, period=old, order=old_order, cause=RefundCause.PLAN_CHANGE,
            status=RefundRequestStatus.APPROVED, currency=old_order.currency,
            paid_minor=int(old_order.total_minor), suggested_minor=amount,
            idempotency_key=refund_key(old), automatic=True, decided_at=now,
            reason=f"plan change by order {order.public_id}")
        rr.events.create(from_status="", to_status=rr.status, at=now,
                         note=f"plan change by order {order.public_id}")
        _refund_execute(rr, amount_minor=amount, now=now)
    return rr


def plan_change_refund_after_commit(*, order: Order, now: datetime) -> None:
    """Refund the replaced period once the fulfilment commits; a failure is logged and
    left to the sweep (the new period stays active whatever happens here)."""
    order_pk = order.pk

    def run():
        try:
            plan_change_refund(order=Order(pk=order_pk), now=now)
        except Exception:
            logger.exception("orders: refund of the plan change by order %s failed; the "
                             "sweep tries again", order_pk)

    transaction.on_commit(run)


def plan_changes_refund_due() -> list[int]:
    """Ids of fulfilled plan-change orders whose refund was not made yet (the sweep's
    list: the after-commit call normally does it at once)."""
    return list(Order.objects.filter(replaces_period__isnull=False, period__isnull=False,
                                     plan_change_refund_minor__gt=0)
                .exclude(replaces_period__refund_request__isnull=False)
                .values_list("pk", flat=True)[:500])
