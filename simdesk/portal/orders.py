"""The customer's orders: the result page after paying (which follows the order until
its period is active), the recharge history, printable receipts and a CSV export.

Ownership comes from ``order_get_for_customer`` / ``orders_for_customer`` only.
"""

import csv

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from simdesk.core.errors import NotFound
from simdesk.core.spreadsheets import csv_text
from simdesk.orders.models import Order, OrderStatus
from simdesk.orders.selectors import order_get_for_customer, orders_for_customer

from .qr import activation_qr_svg, ios_install_url

# The result page keeps asking while the order can still change on its own.
WAITING_STATES = (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID)


def _order_or_404(request, public_id) -> Order:
    try:
        return order_get_for_customer(customer=request.user, order_public_id=public_id)
    except NotFound as error:
        raise Http404(str(error)) from error


def _status_context(request, order: Order) -> dict:
    context = {
        "order": order,
        "plan_name": order.plan.name_for(request.LANGUAGE_CODE),
        "waiting": order.status in WAITING_STATES and not (
            order.status == OrderStatus.PENDING_PAYMENT and order.expires_at <= timezone.now()),
        "period": order.period,
        "failure": "",
    }
    if order.status == OrderStatus.PAYMENT_FAILED:
        context["failure"] = (order.payment.failure_reason if order.payment
                              else order.failure_message)
    card = order.card
    if order.status == OrderStatus.FULFILLED and order.new_esim and card and card.activation:
        payload = card.activation.qr_payload
        context.update({
            "lpa": payload,
            "qr": activation_qr_svg(payload, title=_("QR code to install this eSIM")),
            "ios_url": ios_install_url(payload),
        })
    return context


@login_required
def order_detail(request, public_id):
    order = _order_or_404(request, public_id)
    return render(request, "portal/orders/detail.html", _status_context(request, order))


@login_required
def order_status(request, public_id):
    """The part of the result page that changes; htmx swaps it in every second while the
    order is on its way, and the fragment drops its polling once the order has settled."""
    order = _order_or_404(request, public_id)
    return render(request, "portal/orders/_status.html", _status_context(request, order))


@login_required
def order_list(request):
    orders = list(orders_for_customer(customer=request.user))
    for order in orders:
        # The plan's name in the reader's language (the name at sale is the fallback).
        order.display_name = order.plan.name_for(request.LANGUAGE_CODE) or order.plan_name
    return render(request, "portal/orders/list.html", {"orders": orders})


@login_required
def order_receipt(request, public_id):
    order = _order_or_404(request, public_id)
    if not order.is_settled:
        raise Http404(_("There is no receipt for an order that was not paid."))
    return render(request, "portal/orders/receipt.html", {
        "order": order,
        "plan_name": order.plan.name_for(request.LANGUAGE_CODE) or order.plan_name,
        "period": order.period,
    })


def _iso(value) -> str:
    return value.isoformat() if value else ""


@login_required
def orders_csv(request):
    """One's own recharge history as CSV; amounts as decimal strings in the order's currency
    (plus the integer minor units, which are exact)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="simdesk-orders.csv"'
    writer = csv.writer(response)
    writer.writerow(["order_id", "created_at", "status", "plan", "card_iccid", "currency",
                     "subtotal", "discount", "total", "total_minor", "coupon", "paid_at",
                     "period_id", "period_starts_at", "period_ends_at"])
    for order in orders_for_customer(customer=request.user):
        period = order.period
        writer.writerow([
            order.public_id, _iso(order.created_at), order.status, csv_text(order.plan_name),
            order.card.iccid if order.card else "", order.currency,
            order.subtotal.as_decimal(), order.discount.as_decimal(), order.total.as_decimal(),
            order.total_minor, csv_text(order.coupon_code), _iso(order.paid_at),
            period.public_id if period else "", _iso(period.starts_at if period else None),
            _iso(period.ends_at if period else None),
        ])
    return response
