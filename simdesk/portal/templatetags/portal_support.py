"""The announcements box of the home and card pages: ``{% announcements %}`` or
``{% announcements card=summary.card %}``, in the language the page is shown in."""

from dataclasses import dataclass
from datetime import datetime

from django import template
from django.urls import reverse
from django.utils import timezone, translation

from simdesk.support.models import Announcement
from simdesk.support.selectors import announcements_for_customer

register = template.Library()


@dataclass(frozen=True)
class AnnouncementShown:
    public_id: str
    language: str
    title: str
    body: str
    coupon_code: str


def _coupon_code(announcement: Announcement, now: datetime) -> str:
    """The coupon's code while it can still be used; nothing once it cannot."""
    coupon = announcement.coupon
    if coupon is None or not coupon.active:
        return ""
    if (coupon.valid_from and now < coupon.valid_from) or (
            coupon.valid_until and now >= coupon.valid_until):
        return ""
    return coupon.code


def announcements_shown(*, customer, now: datetime, language: str,
                        card=None) -> list[AnnouncementShown]:
    shown = []
    for announcement in announcements_for_customer(customer=customer, now=now, card=card):
        text = announcement.translation_for(language)
        if text is None:
            continue
        shown.append(AnnouncementShown(public_id=str(announcement.public_id),
                                       language=text.language, title=text.title,
                                       body=text.body,
                                       coupon_code=_coupon_code(announcement, now)))
    return shown


@register.inclusion_tag("portal/support/_announcements.html", takes_context=True)
def announcements(context, card=None):
    request = context["request"]
    if not request.user.is_authenticated:
        return {"announcements": []}
    return {
        "announcements": announcements_shown(
            customer=request.user, now=timezone.now(), card=card,
            language=translation.get_language() or "en"),
        "next": request.get_full_path(),
        "plans_url": reverse("portal:plans"),
        "csrf_token": context.get("csrf_token"),
    }
