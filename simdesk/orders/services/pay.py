"""Paying for an order: one payment attempt at a time, each with its own idempotency key."""

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import Conflict, ServiceError
from simdesk.payments.gateways import enabled_gateways
from simdesk.payments.models import Payment, PaymentStatus
from simdesk.payments.services import payment_open, payment_start

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
    that is already paid, expired or past its deadline is refused, and so is one paid
    while the gateway was being asked. An order a coupon covers in full is paid at once
    without a gateway (and ``return_url`` is returned). ``save_method`` asks the gateway
    to keep the payment method for auto-renewal; a gateway that cannot is refused.

    The order row is locked only to choose and record the attempt (its pending payment
    is created and linked to the order then); the gateway, which may take seconds to
    answer, is called after that commits. ``payment_start`` locks the payment row over
    the call, so one attempt still reaches the gateway once at a time.
    """
    gw = next((g for g in enabled_gateways() if g.name == gateway), None)
    if gw is None:
        raise ServiceError(_("This payment method is not available. Choose another one."),
                           code="gateway_unavailable")
    if not gw.supports_currency(order.currency):
        raise ServiceError(_("%(gateway)s cannot take payments in %(currency)s. Choose another "
                             "way to pay.") % {"gateway": gw.label or gw.name,
                                               "currency": order.currency},
                           code="currency_not_supported")
    if save_method and not gw.supports_saved_methods:
        raise ServiceError(_("%(gateway)s cannot be remembered for auto-renewal. Untick "
                             "“Remember this payment method for auto-renewal” or choose "
                             "another way to pay.")
                           % {"gateway": gw.label or gw.name}, code="cannot_save_method")
    payment = _attempt_record(order=order, gateway=gateway, return_url=return_url, now=now,
                              save_method=save_method)
    if payment is None:
        return return_url  # nothing to pay: the coupon covered it all
    if Order.objects.filter(pk=order.pk, paid_at__isnull=False).exists():
        raise Conflict(_("This order is already paid."), code="order_paid")
    payment, redirect_url = payment_start(
        customer=payment.customer, gateway=gateway, amount_minor=payment.amount_minor,
        currency=payment.currency, reference=payment.reference,
        idempotency_key=payment.idempotency_key, return_url=return_url, now=now,
        save_method=payment.save_method,
    )
    # A confirmation (or a newer attempt) may have arrived while the gateway answered:
    # then this page is not where the customer should go.
    current = Order.objects.filter(pk=order.pk).values_list("paid_at", "payment_id").get()
    if current[0] is not None:
        raise Conflict(_("This order is already paid."), code="order_paid")
    if current[1] != payment.pk:
        raise Conflict(_("This order is being paid in another window."),
                       code="payment_replaced")
    return redirect_url


def _attempt_record(*, order: Order, gateway: str, return_url: str, now: datetime,
                    save_method: bool) -> Payment | None:
    """Under the order's lock: refuse a closed order, choose the attempt (resume the open
    one for the same gateway and amount, or open the next) and record its pending payment
    on the order. None when a coupon covers the whole order (paid here, no gateway)."""
    with transaction.atomic():
        # Lock the order row only. Its payment is read after the lock is granted, not
        # joined: a join would show the payment as it was when this query began, so a
        # submit that waited for another one would miss the attempt that one recorded.
        order = (Order.objects.select_for_update(of=("self",))
                 .select_related("customer").get(pk=order.pk))
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
            return None
        current = Payment.objects.filter(pk=order.payment_id).first()
        if order.status == OrderStatus.PENDING_PAYMENT and payment_is_open(current) \
                and current.gateway == gateway and current.amount_minor == order.total_minor:
            return current
        if order.status == OrderStatus.PAYMENT_FAILED:
            order.reopen_for_payment(at=now)
        order.payment_attempts += 1
        payment = payment_open(
            customer=order.customer, gateway=gateway, amount_minor=order.total_minor,
            currency=order.currency, reference=order.reference,
            idempotency_key=f"{order.reference}:{order.payment_attempts}",
            return_url=return_url, save_method=save_method, now=now,
        )
        order.payment = payment
        order.save(update_fields=["payment_attempts", "payment", "updated_at"])
        return payment
