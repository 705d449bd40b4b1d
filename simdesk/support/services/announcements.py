"""Announcements: staff write one; a customer dismisses one; the clock e-mails new ones to
opted-in customers."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from simdesk.core.errors import ServiceError
from simdesk.notifications.messages import notify_announcement

from ..models import Announcement, AnnouncementDismissal, AnnouncementTranslation, Audience
from ..selectors import announcement_email_recipients

ANNOUNCEMENT_FIELDS = ("internal_name", "starts_at", "ends_at", "audience", "region", "plan",
                       "coupon", "send_email")


def _refuse(error: ValidationError, *, prefix: str = "") -> None:
    """A ServiceError whose ``errors`` name each invalid field (``prefix`` + its name)."""
    refused = ServiceError(" ".join(" ".join(msgs) for msgs in error.message_dict.values()),
                           code="invalid_announcement")
    refused.errors = [{"field": prefix + name if name != "__all__" else prefix.rstrip(".")
                       or "__all__", "message": " ".join(msgs)}
                      for name, msgs in error.message_dict.items()]
    raise refused from error


def announcement_save(*, announcement: Announcement | None, fields: Mapping[str, Any],
                      texts: Mapping[str, tuple[str, str]], now: datetime) -> Announcement:
    """Create an announcement (``announcement`` None) or bring one to exactly these
    ``fields`` (``ANNOUNCEMENT_FIELDS``) and ``texts`` (language → (title, body)).

    The rules of ``Announcement.clean`` apply; English is required (customers whose
    language has no text see it); a language not given loses its text. The region or
    plan only counts for its audience, so the other is cleared. All or nothing: a
    refusal is a ServiceError whose ``errors`` name the fields (``texts.<language>.title``).
    An e-mail already queued is not sent again. Safe to call twice with the same values.
    """
    if not (texts.get(settings.LANGUAGE_CODE) or ("", ""))[0].strip():
        refused = ServiceError(_("Write the announcement in English at least: customers "
                                 "whose language has no text see the English one."),
                               code="invalid_announcement")
        refused.errors = [{"field": f"texts.{settings.LANGUAGE_CODE}.title",
                           "message": refused.message}]
        raise refused
    with transaction.atomic():
        announcement = announcement or Announcement()
        for name, value in fields.items():
            if name not in ANNOUNCEMENT_FIELDS:
                raise ValueError(f"not an announcement field: {name}")
            setattr(announcement, name, value)
        if announcement.audience != Audience.REGION:
            announcement.region = None
        if announcement.audience != Audience.PLAN:
            announcement.plan = None
        try:
            announcement.full_clean()
        except ValidationError as error:
            _refuse(error)
        rows = []
        for language, (title, body) in texts.items():
            row = AnnouncementTranslation(language=language, title=title.strip(),
                                          body=body.strip())
            try:
                row.full_clean(exclude=["announcement"], validate_unique=False)
            except ValidationError as error:
                _refuse(error, prefix=f"texts.{language}.")
            rows.append(row)
        announcement.save()
        for row in rows:
            AnnouncementTranslation.objects.update_or_create(
                announcement=announcement, language=row.language,
                defaults={"title": row.title, "body": row.body})
        announcement.translations.exclude(language__in=[row.language for row in rows]).delete()
    return announcement


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
