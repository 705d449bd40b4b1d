"""The one-click "turn off auto-renewal" link: a signed card id that expires.

It works without logging in (it arrives by e-mail), so it can do one thing only:
switch auto-renewal off for that card.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from simdesk.cards.models import Card
from simdesk.core.errors import ServiceError

SALT = "renewal-off"
MAX_AGE_SECONDS = 30 * 24 * 3600


def renewal_off_token(*, card: Card) -> str:
    return signing.TimestampSigner(salt=SALT).sign(str(card.public_id))


def renewal_off_url(*, card: Card) -> str:
    path = reverse("portal:renewal_off", args=[renewal_off_token(card=card)])
    return f"{settings.SITE_URL}{path}"


def renewal_off_card(*, token: str) -> Card:
    """The card a token names; ServiceError if it was tampered with, is expired, or names
    no card."""
    try:
        public_id = signing.TimestampSigner(salt=SALT).unsign(token, max_age=MAX_AGE_SECONDS)
    except signing.SignatureExpired as error:
        raise ServiceError(_("This link has expired. Sign in to turn off auto-renewal from "
                             "the card's page."), code="link_expired") from error
    except signing.BadSignature as error:
        raise ServiceError(_("This link is not valid. Sign in to turn off auto-renewal from "
                             "the card's page."), code="link_invalid") from error
    card = Card.objects.filter(public_id=public_id).first()
    if card is None:
        raise ServiceError(_("This link is not valid. Sign in to turn off auto-renewal from "
                             "the card's page."), code="link_invalid")
    return card
