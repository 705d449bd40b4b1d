"""Money is an integer amount of minor units plus an ISO 4217 currency code."""

from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision
from django.utils.translation import get_language, to_locale


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point: 2 for USD and CNY, 0 for JPY."""
    return get_currency_precision(currency)


@dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self):
        if not isinstance(self.amount_minor, int) or isinstance(self.amount_minor, bool):
            raise TypeError("amount_minor must be an int")

    def as_decimal(self) -> Decimal:
        return Decimal(self.amount_minor).scaleb(-currency_exponent(self.currency))

    def format(self, language: str | None = None) -> str:
        locale = to_locale(language or get_language() or "en")
        return format_currency(self.as_decimal(), self.currency, locale=locale)

    def __str__(self) -> str:
        return self.format()
