"""What an operator's systems may read: any card or order, found by its identifiers."""

import uuid

from django.utils.translation import gettext_lazy as _

from simdesk.cards.iccid import iccid_normalize
from simdesk.cards.models import Card
from simdesk.catalog.models import Plan
from simdesk.core.errors import NotFound, ServiceError
from simdesk.orders.models import Order


def _uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def card_lookup(*, iccid: str = "", imsi: str = "", msisdn: str = "") -> Card:
    """The card with exactly one given identifier (ICCID, IMSI or MSISDN, as printed or
    dialled: spaces, hyphens and a leading + are ignored); NotFound if there is none."""
    given = {name: (value or "").strip() for name, value in
             (("iccid", iccid), ("imsi", imsi), ("msisdn", msisdn)) if (value or "").strip()}
    if len(given) != 1:
        raise ServiceError(_("Give exactly one of iccid, imsi or msisdn."),
                           code="one_identifier")
    (name, value), = given.items()
    if name == "iccid":
        value = iccid_normalize(value)
    elif name == "msisdn":
        value = value.removeprefix("+").replace(" ", "").replace("-", "")
    card = Card.objects.select_related("owner").filter(**{name: value}).first()
    if card is None:
        raise NotFound(_("No card has this %(name)s.") % {"name": name.upper()},
                       code="card_not_found")
    return card


def card_get_for_operator(*, card_public_id) -> Card:
    key = _uuid(card_public_id)
    card = Card.objects.select_related("owner").filter(public_id=key).first() if key else None
    if card is None:
        raise NotFound(_("There is no card with this id."), code="card_not_found")
    return card


def order_get_for_operator(*, order_public_id) -> Order:
    key = _uuid(order_public_id)
    order = (Order.objects.select_related("plan", "card", "period", "customer", "payment")
             .filter(public_id=key).first()) if key else None
    if order is None:
        raise NotFound(_("There is no order with this id."), code="order_not_found")
    return order


def plans_for_operator(*, status: str | None = None):
    """Every plan, archived ones included, with what the operator view shows."""
    plans = Plan.objects.with_display_data()
    return plans.filter(status=status) if status else plans


def plan_get_for_operator(*, code: str) -> Plan:
    plan = plans_for_operator().filter(code=code).first()
    if plan is None:
        raise NotFound(_("There is no plan with this code."), code="plan_not_found")
    return plan
