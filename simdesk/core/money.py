"""Money is an integer amount of minor units plus an ISO 4217 currency code."""

import re
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision
from django.utils.translation import get_language, to_locale


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point: 2 for USD and CNY, 0 for JPY."""
    return get_currency_precision(currency)


def minor_to_decimal_string(amount_minor: int, currency: str) -> str:
    """The amount as gateways taking decimal strings want it: 999 USD → "9.99", 500 JPY → "500"."""
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool):
        raise TypeError("amount_minor must be an int")
    exponent = currency_exponent(currency)
    return f"{Decimal(amount_minor).scaleb(-exponent):.{exponent}f}"


def decimal_string_to_minor(text: str, currency: str) -> int:
    """The inverse of ``minor_to_decimal_string``: "9.99" USD → 999.

    Raises ValueError for anything that is not a plain decimal number with at most the
    currency's digits after the point ("9.999" USD, "1.5" JPY, "1e3", " 9.99").
    """
    exponent = currency_exponent(currency)
    if not isinstance(text, str) or not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
        raise ValueError(f"not a decimal amount: {text!r}")
    value = Decimal(text)
    if -value.normalize().as_tuple().exponent > exponent:
        raise ValueError(f"{text!r} has more than {exponent} decimals for {currency}")
    return int(value.scaleb(exponent))


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
