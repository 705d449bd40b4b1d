"""Ticket statuses as staff read them (the model's labels speak to the customer)."""

from django import template
from django.utils.translation import gettext_lazy as _

from simdesk.support.models import TicketStatus

register = template.Library()

STAFF_STATUS_LABELS = {
    TicketStatus.OPEN: _("Open"),
    TicketStatus.WAITING_ON_CUSTOMER: _("Waiting on the customer"),
    TicketStatus.RESOLVED: _("Resolved"),
}


@register.filter
def staff_ticket_status(status: str) -> str:
    return STAFF_STATUS_LABELS.get(status, status)
