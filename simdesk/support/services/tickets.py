"""Support tickets: a customer opens one and writes, staff answer, the clock closes quiet ones.

Status follows the conversation: a staff reply waits on the customer, a customer
message opens the ticket again (a resolved one too), and a ticket left waiting on
the customer for ``SUPPORT_TICKET_AUTO_CLOSE_DAYS`` is resolved by the clock.
Every write locks the ticket row first, so a reply and the auto-close never race.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from simdesk.core.errors import NotFound, ServiceError
from simdesk.notifications.messages import notify_ticket_reply

from ..models import (
    BODY_MAX_LENGTH,
    SUBJECT_MAX_LENGTH,
    Ticket,
    TicketEvent,
    TicketMessage,
    TicketStatus,
)
from ..selectors import ticket_auto_close_after

# The same text from the same person within this long is a resubmitted form
# (double click, "back" and send again), not a second message.
RESUBMIT_WINDOW = timedelta(minutes=2)


def ticket_body_clean(body: str | None) -> str:
    """A message as stored: line ends as "\\n", no NUL characters (PostgreSQL cannot store
    them), no surrounding blanks, 1 to ``BODY_MAX_LENGTH`` characters; ServiceError (for
    the customer) otherwise."""
    text = (body or "").replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise ServiceError(_("Write your message before sending it."), code="ticket_body_empty")
    if len(text) > BODY_MAX_LENGTH:
        raise ServiceError(
            ngettext_lazy(
                "A message can be at most %(max)d characters long; this one has %(count)d "
                "character. Shorten it or send it in two parts.",
                "A message can be at most %(max)d characters long; this one has %(count)d "
                "characters. Shorten it or send it in two parts.",
                "count") % {"max": BODY_MAX_LENGTH, "count": len(text)},
            code="ticket_body_too_long")
    return text


def ticket_subject_clean(subject: str | None) -> str:
    """A subject on one line, 1 to ``SUBJECT_MAX_LENGTH`` characters."""
    text = " ".join((subject or "").replace("\x00", "").split())
    if not text:
        raise ServiceError(_("Say in a few words what your question is about."),
                           code="ticket_subject_empty")
    if len(text) > SUBJECT_MAX_LENGTH:
        raise ServiceError(
            _("The subject can be at most %(max)d characters long; put the details in the "
              "message.") % {"max": SUBJECT_MAX_LENGTH},
            code="ticket_subject_too_long")
    return text


def ticket_open(*, customer, subject: str, body: str, card=None, order=None,
                now: datetime) -> Ticket:
    """Open a ticket for ``customer`` with their first message, optionally about one of
    their cards or orders (someone else's card or order is NotFound).

    Not idempotent as such, but a resubmitted form (same subject and message within a
    couple of minutes) returns the ticket it already opened instead of a second one.
    """
    subject = ticket_subject_clean(subject)
    body = ticket_body_clean(body)
    if card is not None and card.owner_id != customer.pk:
        raise NotFound(_("We could not find this card in your account."))
    if order is not None and order.customer_id != customer.pk:
        raise NotFound(_("We could not find this order in your account."),
                       code="order_not_found")
    with transaction.atomic():
        recent = (Ticket.objects.filter(customer=customer, subject=subject,
                                        created_at__gte=now - RESUBMIT_WINDOW,
                                        messages__body=body, messages__from_staff=False)
                  .order_by("-id").first())
        if recent is not None:
            return recent
        ticket = Ticket.objects.create(customer=customer, subject=subject, card=card,
                                       order=order, status=TicketStatus.OPEN,
                                       last_message_at=now)
        TicketMessage.objects.create(ticket=ticket, author=customer, from_staff=False,
                                     body=body, at=now)
        TicketEvent.objects.create(ticket=ticket, from_status="", to_status=TicketStatus.OPEN,
                                   at=now, actor=customer, note="opened")
    return ticket


def _resubmitted(ticket: Ticket, *, author, body: str, now: datetime) -> TicketMessage | None:
    last = ticket.messages.order_by("-at", "-id").first()
    if (last is not None and last.author_id == author.pk and last.body == body
            and last.at >= now - RESUBMIT_WINDOW):
        return last
    return None


def ticket_message_add(*, ticket: Ticket, author, body: str, now: datetime) -> TicketMessage:
    """Add a message to the conversation.

    From the ticket's customer: the ticket is (again) open, whatever its status was.
    From staff: the same as ``ticket_reply_staff``. Anyone else: NotFound (the ticket
    is not theirs). The same text resubmitted within a couple of minutes returns the
    message already written, so a double submit adds nothing.
    """
    if author.pk == ticket.customer_id:
        return _write(ticket=ticket, author=author, body=body, from_staff=False, now=now)
    if author.is_staff:
        return ticket_reply_staff(ticket=ticket, author=author, body=body, now=now)
    raise NotFound(_("We could not find this support request in your account."),
                   code="ticket_not_found")


def ticket_reply_staff(*, ticket: Ticket, author, body: str, now: datetime) -> TicketMessage:
    """Staff answer the customer: the ticket waits on the customer (the quiet period of
    the auto-close starts again from this reply) and the customer gets the reply by
    e-mail once the transaction commits (one e-mail per reply). A resubmitted reply
    (same text within a couple of minutes) adds nothing and sends nothing."""
    if not author.is_staff:
        raise ServiceError(_("Only staff can answer as support."), code="not_staff",
                           status=403)
    return _write(ticket=ticket, author=author, body=body, from_staff=True, now=now)


def _write(*, ticket: Ticket, author, body: str, from_staff: bool,
           now: datetime) -> TicketMessage:
    body = ticket_body_clean(body)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        existing = _resubmitted(ticket, author=author, body=body, now=now)
        if existing is not None:
            return existing
        message = TicketMessage.objects.create(ticket=ticket, author=author,
                                               from_staff=from_staff, body=body, at=now)
        ticket.last_message_at = now
        wanted = TicketStatus.WAITING_ON_CUSTOMER if from_staff else TicketStatus.OPEN
        if ticket.status != wanted:
            ticket.transition(wanted, at=now, actor=author,
                              note="staff reply" if from_staff else "customer message",
                              fields=("last_message_at",))
        else:
            # Another staff reply while waiting restarts the quiet period.
            if from_staff:
                ticket.waiting_since = now
            ticket.save(update_fields=["last_message_at", "waiting_since", "updated_at"])
        if from_staff:
            notify_ticket_reply(
                user=ticket.customer,
                reply={"ticket_id": str(ticket.public_id), "subject": ticket.subject,
                       "body": body,
                       "ticket_url": reverse("portal:support_ticket", args=[ticket.public_id])},
                dedupe_key=f"ticket_reply:{message.public_id}", now=now)
    return message


def ticket_resolve(*, ticket: Ticket, actor, now: datetime, note: str = "") -> Ticket:
    """Mark the ticket resolved (staff, or the customer closing their own question).
    Resolving a resolved ticket changes nothing: safe to call twice."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status != TicketStatus.RESOLVED:
            ticket.transition(TicketStatus.RESOLVED, at=now, actor=actor, note=note or "resolved")
    return ticket


def ticket_auto_close(*, ticket: Ticket, now: datetime) -> bool:
    """Resolve a ticket that has waited on the customer for the whole quiet period.

    Claims the row (locks it and checks again that it is still waiting and still
    quiet), so a customer message that arrived meanwhile keeps it open, and a second
    call, or a second worker, does nothing. Returns True when this call closed it.
    """
    quiet = ticket_auto_close_after()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if (ticket.status != TicketStatus.WAITING_ON_CUSTOMER or ticket.waiting_since is None
                or ticket.waiting_since > now - quiet):
            return False
        ticket.transition(TicketStatus.RESOLVED, at=now, actor=None,
                          note=f"auto-closed: no reply for {quiet.days} days")
    return True
