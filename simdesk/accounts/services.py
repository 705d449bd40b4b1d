"""What can be done to a user's account outside allauth's own flows."""

from django.conf import settings

from simdesk.core.errors import ServiceError

from .models import User

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


def user_set_language(*, user: User, language: str) -> None:
    """Remember the language the user chose; safe to call repeatedly."""
    if language not in LANGUAGE_CODES:
        raise ServiceError(f"Unknown language {language!r}", code="invalid_language")
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


def user_update_preferences(*, user: User, language: str, time_zone: str, currency: str) -> None:
    """Save the preferences edited on the account page (already validated by its form)."""
    user.language = language
    user.time_zone = time_zone
    user.currency = currency
    user.save(update_fields=["language", "time_zone", "currency"])
