"""What can be done to a user's account outside allauth's own flows."""

import zoneinfo

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import ServiceError

from .models import User

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


def _check_language(language: str) -> None:
    if language not in LANGUAGE_CODES:
        raise ServiceError(
            _("“%(language)s” is not a language simdesk offers.") % {"language": language},
            code="invalid_language",
        )


def user_set_language(*, user: User, language: str) -> None:
    """Remember the language the user chose for pages and e-mails.

    Only the languages of ``settings.LANGUAGES`` are accepted. Safe to call
    repeatedly: saving the same language again writes nothing.
    """
    _check_language(language)
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


def user_update_preferences(*, user: User, language: str, time_zone: str, currency: str) -> None:
    """Save the preferences of the account page: language, time zone, preferred currency.

    Each must be one simdesk knows (``LANGUAGES``, the IANA zone database,
    ``CURRENCIES``); otherwise nothing is saved. Safe to call repeatedly.
    """
    _check_language(language)
    if time_zone not in zoneinfo.available_timezones():
        raise ServiceError(
            _("“%(value)s” is not a time zone we know. Pick one from the list, "
              "such as Asia/Shanghai.") % {"value": time_zone},
            code="invalid_time_zone",
        )
    if currency not in settings.CURRENCIES:
        raise ServiceError(
            _("simdesk does not sell in “%(currency)s”.") % {"currency": currency},
            code="invalid_currency",
        )
    with transaction.atomic():
        user.language = language
        user.time_zone = time_zone
        user.currency = currency
        user.save(update_fields=["language", "time_zone", "currency"])
