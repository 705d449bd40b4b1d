"""A card's auto-renewal settings over the API: read them, change them.

Ownership comes from ``renewal_settings_for_customer`` (another customer's card is 404);
every rule (renewable plan, price in the currency, a trigger, a saved payment method)
is checked by ``renewal_settings_update``, the same service the portal page calls.
"""

from datetime import datetime
from uuid import UUID

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema
from pydantic import StrictBool, StrictInt

from simdesk.api.auth import customer_auth
from simdesk.catalog.models import Plan
from simdesk.core.errors import NotFound
from simdesk.renewals.models import RenewalSettings
from simdesk.renewals.selectors import (
    payment_methods_for,
    renewal_current_period,
    renewal_settings_for_customer,
)
from simdesk.renewals.services import renewal_settings_update
from simdesk.renewals.services.common import renewal_currency

router = Router(tags=["renewals"])


class RenewalOut(Schema):
    card: UUID
    enabled: bool
    plan: str | None = Field(description="Code of the plan renewal buys (default: the "
                                         "current period's plan).")
    currency: str
    trigger_before_expiry_hours: int | None
    trigger_low_data_percent: int | None
    payment_method: UUID | None = Field(description="A saved payment method's id.")
    disabled_reason: str
    changed_at: datetime | None


class RenewalIn(Schema):
    enabled: StrictBool
    plan: str | None = Field(None, max_length=64,
                             description="Plan code; omit for the current period's plan.")
    currency: str = Field(min_length=3, max_length=3)
    trigger_before_expiry_hours: StrictInt | None = Field(None, ge=1, le=336)
    trigger_low_data_percent: StrictInt | None = Field(None, ge=1, le=99)
    payment_method: UUID | None = None


def renewal_out(rs: RenewalSettings) -> dict:
    plan = rs.plan
    if plan is None:
        current = renewal_current_period(card=rs.card)
        plan = current.plan if current is not None else None
    return {
        "card": rs.card.public_id,
        "enabled": rs.enabled,
        "plan": plan.code if plan is not None else None,
        "currency": renewal_currency(rs=rs),
        "trigger_before_expiry_hours": rs.trigger_before_expiry_hours,
        "trigger_low_data_percent": rs.trigger_low_data_percent,
        "payment_method": rs.payment_method.public_id if rs.payment_method_id else None,
        "disabled_reason": rs.disabled_reason,
        "changed_at": rs.changed_at,
    }


@router.get("/cards/{card_id}/renewal", auth=customer_auth, response=RenewalOut,
            summary="A card's auto-renewal settings")
def get_renewal(request: HttpRequest, card_id: str):
    return renewal_out(renewal_settings_for_customer(customer=request.auth,
                                                     card_public_id=card_id))


@router.put("/cards/{card_id}/renewal", auth=customer_auth, response=RenewalOut,
            summary="Change a card's auto-renewal settings",
            description="Switching on needs a saved payment method and at least one trigger.")
def put_renewal(request: HttpRequest, card_id: str, payload: RenewalIn):
    customer = request.auth
    rs = renewal_settings_for_customer(customer=customer, card_public_id=card_id)
    plan = None
    if payload.plan:
        plan = Plan.objects.filter(code=payload.plan).first()
        if plan is None:
            raise NotFound(_("There is no plan “%(code)s”.") % {"code": payload.plan},
                           code="plan_not_found")
    method = None
    if payload.payment_method is not None:
        method = payment_methods_for(customer=customer).filter(
            public_id=payload.payment_method).first()
        if method is None:
            raise NotFound(_("This payment method was not found. Choose another one."),
                           code="method_not_found")
    rs = renewal_settings_update(
        card=rs.card, customer=customer, enabled=payload.enabled, plan=plan,
        currency=payload.currency, trigger_before_expiry_hours=payload.trigger_before_expiry_hours,
        trigger_low_data_percent=payload.trigger_low_data_percent, payment_method=method,
        now=timezone.now())
    return renewal_out(rs)
