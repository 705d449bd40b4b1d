"""Paying for an order: one payment attempt at a time, each with its own idempotency key."""

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import Conflict, ServiceError
from simdesk.payments.gateways import enabled_gateways
from simdesk.payments.models import PaymentStatus
from simdesk.payments.services import payment_start

from ..models import Order, OrderStatus
from ..webhooks import order_paid_emit
from .fulfil import order_fulfil

OPEN_PAYMENT_STATES = (PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION)


def payment_is_open(payment) -> bool:
    return payment is not None and payment.status in OPEN_PAYMENT_STATES


def order_pay(*, order: Order, gateway: str, return_url: str, now: datetime,
              save_method: bool = False) -> str:
    """Start (or resume) paying for ``order`` with ``gateway``; returns where to send the
    customer (the gateway's page).

    Each attempt has the idempotency key ``order:<id>:<attempt>``: submitting the pay
    form twice, or going back and submitting it again, resumes the same attempt and
    never charges twice. After a decline the next call opens a new attempt. An order
    that is already paid, expired or past its deadline is refused. An order a coupon
    covers in full is paid at once without a gateway (and ``return_url`` is returned).
    ``save_method`` asks the gateway to keep the payment method for auto-renewal.
    """
    names = {g.name for g in enabled_gateways()}
    if gateway not in names:
        raise ServiceError(_("This payment method is not available. Choose another one."),
                           code="gateway_unavailable")
    with transaction.atomic():
        # Lock the order row only (the payment is joined outside the lock: PostgreSQL
        # cannot lock the nullable side of an outer join).
        order = (Order.objects.select_for_update(of=("self",))
                 .select_related("payment", "customer").get(pk=order.pk))
        if order.is_settled:
            raise Conflict(_("This order is already paid."), code="order_paid")
        if order.status == OrderStatus.EXPIRED or order.expires_at <= now:
            raise ServiceError(_("This order expired before it was paid. Start again from "
                                 "the plan page."), code="order_expired")
        if order.total_minor == 0:
            # Fully covered by a coupon: nothing to charge, so no gateway is involved.
            order.mark_paid(at=now, note="nothing to pay")
            order_paid_emit(order=order, now=now)
            transaction.on_commit(lambda: order_fulfil(order=order, now=now))
            return return_url
        current = order.payment
        if order.status == OrderStatus.PENDING_PAYMENT and payment_is_open(current) \
                and current.gateway == gateway and current.amount_minor == order.total_minor:
            attempt = order.payment_attempts
        else:
            if order.status == OrderStatus.PAYMENT_FAILED:
                order.reopen_for_payment(at=now)
            order.payment_attempts += 1
            attempt = order.payment_attempts
            order.save(update_fields=["payment_attempts", "updated_at"])
        payment, redirect_url = payment_start(
            customer=order.customer, gateway=gateway, amount_minor=order.total_minor,
            currency=order.currency, reference=order.reference,
            idempotency_key=f"{order.reference}:{attempt}", return_url=return_url, now=now,
            save_method=save_method,
        )
        if order.payment_id != payment.pk:
            order.payment = payment
            order.save(update_fields=["payment", "updated_at"])
    return redirect_url
