"""Announcements: a customer dismisses one; the clock e-mails new ones to opted-in customers."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.urls import reverse

from simdesk.notifications.messages import notify_announcement

from ..models import Announcement, AnnouncementDismissal
from ..selectors import announcement_email_recipients


def announcement_dismiss(*, announcement: Announcement, customer,
                         now: datetime) -> AnnouncementDismissal:
    """Hide the announcement from this customer for good. Safe to call twice (the first
    dismissal stays)."""
    try:
        with transaction.atomic():
            dismissal, _created = AnnouncementDismissal.objects.get_or_create(
                announcement=announcement, customer=customer, defaults={"at": now})
    except IntegrityError:  # the same customer dismissed it in another tab at that moment
        dismissal = AnnouncementDismissal.objects.get(announcement=announcement,
                                                      customer=customer)
    return dismissal


def announcement_email(*, announcement: Announcement, now: datetime) -> int:
    """Queue the announcement's e-mail to every customer in its audience who opted in
    to news and offers, while it is shown; returns how many recipients it went through.

    Once per customer per announcement: each e-mail is an outbox row unique by
    (announcement, customer), so a second call, or a call that follows one that died
    half-way, queues only what is missing. ``emailed_at`` is set at the end so the
    clock stops offering it; customers who opt in later are not e-mailed.
    """
    announcement = Announcement.objects.prefetch_related("translations").select_related(
        "coupon").get(pk=announcement.pk)
    if (not announcement.send_email or announcement.emailed_at is not None
            or not announcement.is_live(now=now)):
        return 0
    content = {
        "announcement_id": str(announcement.public_id),
        "texts": {row.language: {"title": row.title, "body": row.body}
                  for row in announcement.translations.all()},
        "coupon_code": announcement.coupon.code if announcement.coupon_id else "",
        "url": reverse("portal:home"),
        "ends_at": announcement.ends_at.isoformat(),
    }
    recipients = 0
    for user in (announcement_email_recipients(announcement=announcement)
                 .order_by("pk").iterator(chunk_size=500)):
        notify_announcement(user=user, announcement=content,
                            dedupe_key=f"announcement:{announcement.public_id}:{user.pk}",
                            now=now)
        recipients += 1
    Announcement.objects.filter(pk=announcement.pk, emailed_at__isnull=True).update(
        emailed_at=now, updated_at=now)
    return recipients
