"""Refunds of a period: the customer asks, simdesk refunds at once or staff decide.

Rules:
- An *unused* period (no data used, still open) bought within ``REFUND_WINDOW_DAYS``
  (default 14) is refunded in full at once.
- Any other refundable period goes to staff as a pending request, with the pro-rata
  amount (``simdesk.orders.refunds``) suggested; staff approve it (with that amount or
  another, up to what is left of the payment) or reject it.
- A refund goes back through the gateway to the original payment, closes the period
  with state ``refunded`` (its unused data leaves through one ``refund`` ledger row),
  moves the order to refunded / partially refunded and e-mails the customer.

Idempotency: one request per period (``RefundRequest.period`` is one-to-one) and one
gateway refund per request (its idempotency key is ``period-refund:<period id>``), all
decided under the card's row lock, so a double click, a retried request or two
requests at once refund a period at most once.
"""

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from simdesk.cards.models import Period, PeriodState
from simdesk.cards.services import card_lock, period_close, periods_advance
from simdesk.core.errors import Conflict, NotFound, ServiceError
from simdesk.core.money import Money
from simdesk.notifications.messages import (
    notify_refund_made,
    notify_refund_request_received,
    notify_refund_request_rejected,
)
from simdesk.payments.models import Refund
from simdesk.payments.services import payment_refund

from ..models import (
    ORDER_PAYABLE_STATES,
    Order,
    RefundCause,
    RefundRequest,
    RefundRequestStatus,
)
from ..refunds import period_refund_quote
from .refund import order_mark_refunded

logger = logging.getLogger(__name__)

MAX_REASON_LENGTH = 1000


def refund_key(period: Period) -> str:
    """The one idempotency key of a period's refund, at simdesk and at the gateway."""
    return f"period-refund:{period.public_id}"


def _site_url(path: str) -> str:
    from django.conf import settings

    return f"{settings.SITE_URL}{path}"


def refund_message_context(rr: RefundRequest, **extra) -> dict:
    """What the refund e-mails need (strings and integers only)."""
    period = rr.period
    return {
        "card_iccid": period.card.iccid,
        "plan_names": dict(period.names),
        "plan_code": period.plan_code,
        "currency": rr.currency,
        "paid_minor": int(rr.paid_minor),
        "cause": rr.cause,
        "card_url": _site_url(reverse("portal:card_detail", args=[period.card.public_id])),
        **extra,
    }


def refund_request_create(*, customer, period: Period, reason: str = "",
                          now: datetime) -> RefundRequest:
    """The customer asks for a refund of ``period``.

    Rules: the period is on one of the customer's cards (else NotFound); it is
    refundable (``period_refund_quote``); it is not being replaced by a plan change
    waiting for payment. Unused and within the refund window: refunded in full now
    (status ``refunded``). Otherwise: a ``pending`` request for staff with the pro-rata
    amount suggested, and the customer is told it was received.

    Safe to call twice and concurrently: the period's existing request is returned
    and nothing is refunded again.
    """
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise ServiceError(_("Please keep the reason under %(max)d characters.")
                           % {"max": MAX_REASON_LENGTH}, code="reason_too_long")
    with transaction.atomic():
        card = card_lock(period.card)
        if card.owner_id is None or card.owner_id != getattr(customer, "pk", None):
            raise NotFound(_("We could not find this plan in your account."),
                           code="period_not_found")
        period = Period.objects.select_related("card").get(pk=period.pk, card=card)
        existing = RefundRequest.objects.filter(period=period).first()
        if existing is not None:
            return existing
        if Order.objects.filter(replaces_period=period, status__in=ORDER_PAYABLE_STATES,
                                expires_at__gt=now).exists():
            raise Conflict(_("You are changing this plan: finish paying for the new plan, "
                             "or wait until that order expires, before asking for a refund."),
                           code="plan_change_pending")
        quote = period_refund_quote(period=period, now=now)
        try:
            with transaction.atomic():
                rr = RefundRequest.objects.create(
                    customer=customer, period=period, order=quote.order,
                    cause=RefundCause.CUSTOMER, status=RefundRequestStatus.PENDING,
                    reason=reason, currency=quote.currency, paid_minor=quote.paid_minor,
                    suggested_minor=min(quote.prorata_minor, quote.refundable_minor),
                    idempotency_key=refund_key(period),
                )
        except IntegrityError:
            # Another request for this period won (only possible without the card lock,
            # e.g. a database that ignores SELECT … FOR UPDATE): it is the answer.
            return RefundRequest.objects.get(period=period)
        rr.events.create(from_status="", to_status=rr.status, at=now, actor=customer,
                         note="asked by the customer")
        if quote.automatic:
            rr.automatic = True
            rr.decided_at = now
            rr.move(RefundRequestStatus.APPROVED, at=now,
                    note="unused and within the refund window: refunded in full",
                    fields=("automatic", "decided_at"))
            _refund_execute(rr, amount_minor=quote.amount_minor, now=now)
        else:
            notify_refund_request_received(user=customer, refund=refund_message_context(rr),
                                           dedupe_key=f"{rr.reference}:received", now=now)
    return rr


def _lock_request(rr: RefundRequest) -> RefundRequest:
    """The request again, after locking its card (the order every refund path locks in)."""
    card_lock(rr.period.card)
    return (RefundRequest.objects.select_for_update(of=("self",))
            .select_related("period__card", "order__payment", "customer").get(pk=rr.pk))


def refund_request_approve(*, request: RefundRequest, amount_minor: int, acting_user,
                           now: datetime, note: str = "") -> RefundRequest:
    """Staff approve a pending request and refund ``amount_minor`` (the suggested amount or
    another, from 1 minor unit up to what is left of the payment) at once.

    Safe to call twice: a request already refunded with the same amount is returned
    unchanged; one decided otherwise is refused (Conflict).
    """
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool) or amount_minor <= 0:
        raise ServiceError(_("A refund must be a positive whole number of minor units. To "
                             "refund nothing, reject the request."), code="invalid_amount")
    with transaction.atomic():
        rr = _lock_request(request)
        if rr.status == RefundRequestStatus.REFUNDED and rr.amount_minor == amount_minor:
            return rr
        if rr.status != RefundRequestStatus.PENDING:
            raise Conflict(_("This refund request was already decided (%(status)s).")
                           % {"status": RefundRequestStatus(rr.status).label},
                           code="refund_request_decided")
        refundable = min(rr.order.payment.refundable_minor, int(rr.order.total_minor))
        if amount_minor > refundable:
            raise ServiceError(_("At most %(amount)s can be refunded on this payment.")
                               % {"amount": Money(refundable, rr.order.currency)},
                               code="refund_too_large")
        rr.decided_by = acting_user
        rr.decided_at = now
        rr.decision_note = (note or "")[:300]
        rr.move(RefundRequestStatus.APPROVED, at=now, actor=acting_user, note=note,
                fields=("decided_by", "decided_at", "decision_note"))
        _refund_execute(rr, amount_minor=amount_minor, now=now, actor=acting_user)
    return rr


def refund_request_reject(*, request: RefundRequest, acting_user, now: datetime,
                          note: str = "") -> RefundRequest:
    """Staff reject a pending request; the customer is told, with ``note`` if given, and
    the period stays as it is. Safe to call twice (a rejected request is returned)."""
    with transaction.atomic():
        rr = _lock_request(request)
        if rr.status == RefundRequestStatus.REJECTED:
            return rr
        if rr.status != RefundRequestStatus.PENDING:
            raise Conflict(_("This refund request was already decided (%(status)s).")
                           % {"status": RefundRequestStatus(rr.status).label},
                           code="refund_request_decided")
        rr.decided_by = acting_user
        rr.decided_at = now
        rr.decision_note = (note or "").strip()[:300]
        rr.move(RefundRequestStatus.REJECTED, at=now, actor=acting_user, note=rr.decision_note,
                fields=("decided_by", "decided_at", "decision_note"))
        notify_refund_request_rejected(
            user=rr.customer, refund=refund_message_context(rr, note=rr.decision_note),
            dedupe_key=f"{rr.reference}:rejected", now=now)
    return rr


def refund_and_close_period(*, order: Order, period: Period | None, amount_minor: int,
                            idempotency_key: str, reference: str, reason: str,
                            now: datetime) -> Refund:
    """Inside the caller's transaction and card lock: close ``period`` as refunded (if it is
    still open; none for a money-only refund), refund ``amount_minor`` of the order's
    payment through the gateway under ``idempotency_key``, and record it on the order.

    The one place where a refund and the end of its period happen together (refund
    requests, plan changes and staff refunds all come here). Safe to call twice with
    the same key and reference: the period closes once and the gateway refunds once.
    """
    if period is not None:
        # A period that ran out in the meantime stays expired: only money goes back.
        periods_advance(card=period.card, now=now)
        period.refresh_from_db()
        if period.state in (PeriodState.QUEUED, PeriodState.ACTIVE, PeriodState.EXHAUSTED):
            period_close(period=period, to=PeriodState.REFUNDED, reference=reference, now=now)
    refund = payment_refund(payment=order.payment, amount_minor=amount_minor,
                            idempotency_key=idempotency_key, now=now, reason=reason)
    order.payment.refresh_from_db(fields=["refunded_minor"])
    order_mark_refunded(order=order, refunded_minor=int(order.payment.refunded_minor),
                        now=now, note=f"refund {refund.public_id}")
    return refund


def _refund_execute(rr: RefundRequest, *, amount_minor: int, now: datetime,
                    actor=None) -> RefundRequest:
    """Carry out an approved request, inside the caller's transaction and card lock: close
    the period (if still open), refund through the gateway, record it on the order,
    e-mail the customer after commit.

    The gateway call comes last but one: if it fails, everything here rolls back and
    the request stays as it was before the caller's change. The gateway refund's key
    is the request's, so a retry after a crash between the gateway and our commit
    gets the same refund back, not a second one.
    """
    order = Order.objects.select_related("payment").get(pk=rr.order_id)
    refund = refund_and_close_period(
        order=order, period=Period.objects.select_related("card").get(pk=rr.period_id),
        amount_minor=amount_minor, idempotency_key=rr.idempotency_key,
        reference=rr.reference, reason=f"{rr.cause} {rr.reference}", now=now)
    rr.amount_minor = amount_minor
    rr.refund = refund
    rr.refunded_at = now
    rr.move(RefundRequestStatus.REFUNDED, at=now, actor=actor,
            note=f"refund {refund.public_id}", fields=("amount_minor", "refund", "refunded_at"))
    notify_refund_made(user=order.customer,
                       refund=refund_message_context(rr, amount_minor=amount_minor),
                       dedupe_key=f"{rr.reference}:made", now=now)
    logger.info("orders: %s refunded %s %s of order %s (%s)", rr.reference, amount_minor,
                rr.currency, order.public_id, rr.cause)
    return rr
