"""Operator order lookup."""

from uuid import UUID

from django.http import HttpRequest
from ninja import Router

from simdesk.api.customer.orders import OrderOut, order_out

from .auth import operator_auth
from .selectors import order_get_for_operator

router = Router(tags=["operator"])


class OperatorOrderOut(OrderOut):
    customer: UUID
    customer_email: str
    payment_attempts: int


@router.get("/operator/orders/{order_id}", auth=operator_auth("orders:read"),
            response=OperatorOrderOut, summary="Look up any order",
            description="Needs scope `orders:read`.")
def get_order(request: HttpRequest, order_id: str):
    order = order_get_for_operator(order_public_id=order_id)
    return {**order_out(order), "customer": order.customer.public_id,
            "customer_email": order.customer.email,
            "payment_attempts": order.payment_attempts}
