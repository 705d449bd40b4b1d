"""The e-mail channel: subject, plain text and HTML in the recipient's language and time zone,
sent through Django's configured e-mail backend."""

import zoneinfo
from datetime import datetime
from email.mime.image import MIMEImage

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation

from ..models import Notification


def recipient_zone(user) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(getattr(user, "time_zone", "") or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def email_render(*, notification: Notification) -> EmailMultiAlternatives:
    """Build the e-mail for one outbox row (not sent)."""
    from ..messages import KINDS

    kind = KINDS[notification.kind]
    user = notification.user
    zone = recipient_zone(user)
    with translation.override(notification.language), timezone.override(zone):
        prepared = kind.prepare(notification.context, notification.language)
        context = {
            **prepared.context,
            "site_name": settings.SITE_NAME,
            "site_url": settings.SITE_URL,
            "recipient": user.email,
            "time_zone": str(zone),
        }
        prefix = f"notifications/email/{kind.template}"
        subject = render_to_string(f"{prefix}/subject.txt", context)
        text = render_to_string(f"{prefix}/body.txt", context)
        html = render_to_string(f"{prefix}/body.html", context)
    # A header cannot span lines: the subject template's line breaks are layout only.
    subject = " ".join(subject.split())
    message = EmailMultiAlternatives(
        subject=f"[{settings.SITE_NAME}] {subject}", body=text,
        from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email],
        headers={"X-Simdesk-Notification": str(notification.public_id)},
    )
    message.attach_alternative(html, "text/html")
    inline = False
    for attachment in prepared.attachments:
        if attachment.content_id and attachment.mimetype.startswith("image/"):
            image = MIMEImage(attachment.content, _subtype=attachment.mimetype.split("/")[1])
            image.add_header("Content-ID", f"<{attachment.content_id}>")
            image.add_header("Content-Disposition", "inline", filename=attachment.filename)
            message.attach(image)
            inline = True
        else:
            message.attach(attachment.filename, attachment.content, attachment.mimetype)
    if inline:
        # multipart/related keeps the image beside the HTML that points at it by cid.
        message.mixed_subtype = "related"
    return message


def email_send(*, notification: Notification, now: datetime) -> None:
    """Render and send; raises whatever the backend raises, so the caller can retry."""
    email_render(notification=notification).send(fail_silently=False)
