"""Everything simdesk can do to a card's auto-renewal: ``grep "def renewal"`` lists it."""

from .attempt import (
    renewal_attempt,
    renewal_payment_failed,
    renewal_payment_succeeded,
    renewals_mark_enqueued,
)
from .reminders import renewal_remind
from .settings import renewal_disable, renewal_settings_update

__all__ = ["renewal_attempt", "renewal_disable", "renewal_payment_failed",
           "renewal_payment_succeeded", "renewal_remind", "renewal_settings_update",
           "renewals_mark_enqueued"]
