"""ISO 3166-1 alpha-2 country codes and their names, from babel's CLDR data."""

from functools import cache

import babel
from django.core.exceptions import ValidationError
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext_lazy as _

# CLDR lists a few two-letter territories that are not countries a SIM roams in:
# groupings (EU, EZ, UN, QO), pseudo-locales (XA, XB), "unknown" (ZZ) and
# exceptionally reserved codes (AC, CP, CQ, DG, EA, IC, TA). Kosovo (XK) stays:
# networks and sellers treat it as a country of its own.
_NOT_COUNTRIES = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"}
)

COUNTRY_CODES: frozenset[str] = frozenset(
    code
    for code in babel.Locale("en").territories
    if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
)


@cache
def _locale(language: str) -> babel.Locale:
    try:
        return babel.Locale.parse(to_locale(language))
    except (ValueError, babel.UnknownLocaleError):
        return babel.Locale("en")


def country_name(code: str, language: str | None = None) -> str:
    """The country's name in ``language`` (default: the active language), else the code."""
    locale = _locale(language or get_language() or "en")
    return locale.territories.get(code) or babel.Locale("en").territories.get(code, code)


def country_choices(language: str | None = None) -> list[tuple[str, str]]:
    """(code, name) pairs sorted by name in ``language``, for select boxes."""
    return sorted(
        ((code, country_name(code, language)) for code in COUNTRY_CODES),
        key=lambda pair: pair[1],
    )


def validate_country_code(value: str) -> None:
    if value not in COUNTRY_CODES:
        raise ValidationError(
            _("“%(value)s” is not an ISO 3166-1 country code. Use two capital letters, "
              "for example JP for Japan."),
            code="invalid_country",
            params={"value": value},
        )
