"""Support jobs. Sweeps find due work and enqueue one task per item; each task calls one
service, which claims the row and checks it is still due (a lost or doubled job changes
nothing)."""

from django_tasks import task

from simdesk.core.clock import utcnow

BATCH = 500


@task()
def ticket_auto_close_task(ticket_id: int) -> bool:
    from .models import Ticket
    from .services import ticket_auto_close

    ticket = Ticket.objects.filter(pk=ticket_id).first()
    return ticket_auto_close(ticket=ticket, now=utcnow()) if ticket else False


@task()
def tickets_auto_close_sweep() -> int:
    """Tickets left waiting on the customer for the whole quiet period."""
    from .selectors import tickets_due_for_auto_close

    ids = list(tickets_due_for_auto_close(now=utcnow()).values_list("pk", flat=True)[:BATCH])
    for ticket_id in ids:
        ticket_auto_close_task.enqueue(ticket_id)
    return len(ids)


@task()
def announcement_email_task(announcement_id: int) -> int:
    from .models import Announcement
    from .services import announcement_email

    announcement = Announcement.objects.filter(pk=announcement_id).first()
    return announcement_email(announcement=announcement, now=utcnow()) if announcement else 0


@task()
def announcements_email_sweep() -> int:
    """Announcements that started and still have e-mails to queue."""
    from .selectors import announcements_due_for_email

    ids = list(announcements_due_for_email(now=utcnow()).values_list("pk", flat=True)[:BATCH])
    for announcement_id in ids:
        announcement_email_task.enqueue(announcement_id)
    return len(ids)
