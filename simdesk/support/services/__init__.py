"""Everything simdesk can do to a ticket or an announcement: ``grep "def ticket_"`` lists it."""

from .announcements import announcement_dismiss, announcement_email, announcement_save
from .tickets import (
    ticket_auto_close,
    ticket_body_clean,
    ticket_message_add,
    ticket_open,
    ticket_reply_staff,
    ticket_resolve,
    ticket_subject_clean,
)

__all__ = [
    "announcement_dismiss", "announcement_email", "announcement_save", "ticket_auto_close",
    "ticket_body_clean", "ticket_message_add", "ticket_open", "ticket_reply_staff",
    "ticket_resolve", "ticket_subject_clean",
]
