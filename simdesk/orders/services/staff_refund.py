"""Staff refund an order from the back office: all of what is left of its payment, or part.

Rules:
- Only a paid order with money left to give back (paid, completed or partially refunded).
- From one minor unit up to what is left of the payment (never more than the order's total).
- A refund that gives back everything that is left ends the order's period as ``refunded``
  (its unused data leaves through one ``refund`` ledger row); a partial refund gives money
  back only and the period goes on.
- A period with a refund request waiting for staff is decided in the refund queue, so one
  period never has two refund paths open at once.
- The customer gets the refund e-mail after commit.
"""

from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from simdesk.cards.services import card_lock
from simdesk.core.errors import Conflict, ServiceError
from simdesk.core.money import Money
from simdesk.notifications.messages import notify_refund_made
from simdesk.payments.models import Refund

from ..models import Order, OrderStatus, RefundRequest, RefundRequestStatus
from .refund_requests import _site_url, refund_and_close_period

STAFF_REFUNDABLE = (OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.PARTIALLY_REFUNDED)


def order_refundable_minor(order: Order) -> int:
    """What is left of ``order``'s payment to give back (0 when nothing can be)."""
    if order.status not in STAFF_REFUNDABLE or order.payment is None or order.paid_at is None:
        return 0
    return max(0, min(order.payment.refundable_minor, int(order.total_minor)))


def order_refund_staff(*, order: Order, amount_minor: int, reason: str, acting_user, key: str,
                       now: datetime) -> Refund:
    """Refund ``amount_minor`` of ``order`` through its gateway (see the module's rules).

    ``key`` is the staff form's one-time token: the gateway refund's idempotency key is
    ``staff-refund:<key>``, so the same form sent twice refunds once and returns the
    same refund (safe to call twice).
    """
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool) or amount_minor <= 0:
        raise ServiceError(_("A refund must be more than zero."), code="invalid_amount")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Say why: a reason is required."), code="reason_required")
    idempotency_key = f"staff-refund:{key}"
    with transaction.atomic():
        if order.card_id is not None:
            card_lock(order.card)  # the order every refund path locks in: card, then rows
        order = (Order.objects.select_for_update(of=("self",))
                 .select_related("payment", "period__card", "card", "customer", "plan")
                 .get(pk=order.pk))
        done = Refund.objects.filter(idempotency_key=idempotency_key).first()
        if done is not None:
            if done.payment_id != order.payment_id or done.amount_minor != amount_minor:
                raise Conflict(_("This refund was already made with different details."),
                               code="idempotency_conflict")
            return done
        refundable = order_refundable_minor(order)
        if refundable <= 0:
            raise Conflict(_("This order has nothing left to refund."),
                           code="nothing_to_refund")
        if amount_minor > refundable:
            raise ServiceError(_("At most %(amount)s can be refunded on this order.")
                               % {"amount": Money(refundable, order.currency)},
                               code="refund_too_large")
        if order.period_id and RefundRequest.objects.filter(
                period_id=order.period_id, status=RefundRequestStatus.PENDING).exists():
            raise Conflict(_("The customer asked for a refund of this plan: decide that "
                             "request in the refund queue instead."),
                           code="refund_request_pending")
        full = amount_minor == refundable
        reference = f"staff-refund:{key}"
        refund = refund_and_close_period(
            order=order, period=order.period if full else None, amount_minor=amount_minor,
            idempotency_key=idempotency_key, reference=reference,
            reason=f"staff {reason}"[:200], now=now)
        period = order.period
        notify_refund_made(user=order.customer, refund={
            "card_iccid": order.card.iccid if order.card_id else "",
            "plan_names": dict(period.names) if period is not None else {},
            "plan_code": period.plan_code if period is not None else order.plan_name,
            "currency": order.currency,
            "paid_minor": int(order.total_minor),
            "amount_minor": amount_minor,
            "cause": "staff",
            "plan_ended": full,
            "card_url": _site_url(reverse("portal:card_detail", args=[order.card.public_id]))
            if order.card_id else "",
        }, dedupe_key=f"{reference}:made", now=now)
    return refund
