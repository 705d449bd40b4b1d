"""Reads about support that encode a rule: ownership of tickets, what the clock must do,
and who sees which announcement."""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from simdesk.cards.models import PERIOD_OPEN_STATES, Card, CardState, Period
from simdesk.catalog.models import Plan, Region
from simdesk.core.errors import NotFound

from .models import Announcement, Audience, Ticket, TicketMessage, TicketStatus


def _uuid(value) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# --- Tickets ---------------------------------------------------------------------------------

def ticket_get_for_customer(*, customer, ticket_public_id: str | uuid.UUID) -> Ticket:
    """The customer's own ticket; anyone else's, or a malformed id, is NotFound."""
    key = _uuid(ticket_public_id)
    ticket = None
    if key is not None and customer is not None and customer.pk is not None:
        ticket = (Ticket.objects.select_related("card", "order")
                  .filter(public_id=key, customer=customer).first())
    if ticket is None:
        raise NotFound(_("We could not find this support request in your account."),
                       code="ticket_not_found")
    return ticket


def tickets_for_customer(*, customer) -> QuerySet[Ticket]:
    """The customer's tickets, latest activity first, each with its card, order and whole
    conversation (``ticket.messages.all()``, oldest first) loaded in one more query.
    Everything here is the customer's to see (staff write no hidden notes)."""
    return (Ticket.objects.filter(customer=customer)
            .select_related("card", "order")
            .prefetch_related(Prefetch("messages",
                                       queryset=TicketMessage.objects.order_by("at", "id")))
            .order_by("-last_message_at", "-id"))


def ticket_messages(*, ticket: Ticket) -> QuerySet[TicketMessage]:
    return ticket.messages.order_by("at", "id")


def ticket_auto_close_after() -> timedelta:
    """How long a ticket waits on the customer before the clock resolves it."""
    return timedelta(days=settings.SUPPORT_TICKET_AUTO_CLOSE_DAYS)


def tickets_due_for_auto_close(*, now: datetime) -> QuerySet[Ticket]:
    """Tickets waiting on the customer for at least the quiet period."""
    return Ticket.objects.filter(status=TicketStatus.WAITING_ON_CUSTOMER,
                                 waiting_since__lte=now - ticket_auto_close_after())


# --- Announcements ---------------------------------------------------------------------------

def _open_periods(*, customer=None, card: Card | None = None) -> QuerySet[Period]:
    """Periods that make a customer "have" a plan: active or queued, on a card in use."""
    periods = Period.objects.filter(state__in=PERIOD_OPEN_STATES).exclude(
        card__state=CardState.TERMINATED)
    if customer is not None:
        periods = periods.filter(card__owner=customer)
    if card is not None:
        periods = periods.filter(card=card)
    return periods


def plan_ids_covering_region(*, region: Region) -> set[int]:
    """Plans that work in any country of ``region``: the region's own plans, plans of
    any region sharing a country with it (a Global plan works in Europe), and plans
    listing one of its countries."""
    countries = set(region.countries)
    overlapping = [other.pk for other in Region.objects.only("pk", "countries")
                   if other.pk == region.pk or countries & set(other.countries)]
    return set(Plan.objects.filter(Q(region__in=overlapping)
                                   | Q(countries__country__in=countries))
               .values_list("pk", flat=True))


def announcements_live(*, now: datetime) -> QuerySet[Announcement]:
    return (Announcement.objects.filter(starts_at__lte=now, ends_at__gt=now)
            .select_related("coupon").prefetch_related("translations")
            .order_by("-starts_at", "-id"))


def announcements_for_customer(*, customer, now: datetime,
                               card: Card | None = None) -> list[Announcement]:
    """Announcements this customer should see now, newest first: shown between their start
    and end, not dismissed by them, and addressed to them — everyone, or (audience region
    or plan) a plan on one of their cards. With ``card`` (its page), region and plan
    announcements count that card's plans only; another customer's card has none."""
    live = list(announcements_live(now=now).exclude(dismissals__customer=customer))
    if not any(a.audience != Audience.EVERYONE for a in live):
        return live
    if card is not None and card.owner_id != customer.pk:
        plan_ids: set[int] = set()
    else:
        plan_ids = set(_open_periods(customer=customer, card=card)
                       .values_list("plan_id", flat=True).distinct())
    covering: dict[int, set[int]] = {}
    shown = []
    for announcement in live:
        if announcement.audience == Audience.EVERYONE:
            shown.append(announcement)
        elif announcement.audience == Audience.PLAN:
            if announcement.plan_id in plan_ids:
                shown.append(announcement)
        elif announcement.audience == Audience.REGION and plan_ids:
            if announcement.region_id not in covering:
                covering[announcement.region_id] = plan_ids_covering_region(
                    region=announcement.region)
            if plan_ids & covering[announcement.region_id]:
                shown.append(announcement)
    return shown


def announcement_get_live(*, announcement_public_id: str | uuid.UUID,
                          now: datetime) -> Announcement:
    """An announcement being shown now; an unknown, ended or future one is NotFound."""
    key = _uuid(announcement_public_id)
    announcement = None
    if key is not None:
        announcement = announcements_live(now=now).filter(public_id=key).first()
    if announcement is None:
        raise NotFound(_("This announcement is no longer shown."),
                       code="announcement_not_found")
    return announcement


def announcement_audience(*, announcement: Announcement) -> QuerySet:
    """Every active account the announcement is addressed to (see ``Announcement``)."""
    users = get_user_model().objects.filter(is_active=True)
    if announcement.audience == Audience.PLAN:
        owners = _open_periods().filter(plan_id=announcement.plan_id)
    elif announcement.audience == Audience.REGION:
        owners = _open_periods().filter(
            plan_id__in=plan_ids_covering_region(region=announcement.region))
    else:
        return users
    return users.filter(pk__in=owners.values("card__owner"))


def announcement_email_recipients(*, announcement: Announcement) -> QuerySet:
    """The audience members who chose to receive news and offers by e-mail."""
    return announcement_audience(announcement=announcement).filter(
        notification_preferences__marketing=True)


def announcements_due_for_email(*, now: datetime) -> QuerySet[Announcement]:
    """Live announcements to e-mail whose e-mails were not all queued yet."""
    return Announcement.objects.filter(send_email=True, emailed_at__isnull=True,
                                       starts_at__lte=now, ends_at__gt=now)


# --- Staff -----------------------------------------------------------------------------------

def tickets_for_staff(*, status: str | None = None, customer=None) -> QuerySet[Ticket]:
    """Tickets for the support inbox, with their customer, card and order.

    Open and waiting tickets come oldest last message first: the customer who has
    waited longest is answered first. Resolved ones (and a customer's whole list)
    come latest activity first."""
    tickets = Ticket.objects.select_related("customer", "card", "order")
    if customer is not None:
        tickets = tickets.filter(customer=customer)
    if status:
        tickets = tickets.filter(status=status)
    if status in (TicketStatus.OPEN, TicketStatus.WAITING_ON_CUSTOMER):
        return tickets.order_by("last_message_at", "id")
    return tickets.order_by("-last_message_at", "-id")


def ticket_get_for_staff(*, ticket_public_id: str | uuid.UUID) -> Ticket:
    """Any customer's ticket (staff answer them all); an unknown or malformed id is NotFound."""
    key = _uuid(ticket_public_id)
    ticket = None
    if key is not None:
        ticket = (Ticket.objects.select_related("customer", "card", "order")
                  .filter(public_id=key).first())
    if ticket is None:
        raise NotFound(_("There is no such support ticket."), code="ticket_not_found")
    return ticket
