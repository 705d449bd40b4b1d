"""Data sizes and speeds for people to read.

Sizes are decimal, as mobile networks and sellers quote them: 1 GB = 10^9 bytes,
1 MB = 10^6 bytes. Shown values are rounded *down*, so a balance is never shown
as more than what is left (999,999,999 bytes reads "999 MB", not "1 GB").
"""

import re
from decimal import ROUND_DOWN, Decimal

from babel.numbers import format_decimal
from django.utils.translation import get_language, to_locale

KB = 10**3
MB = 10**6
GB = 10**9
TB = 10**12

_UNITS = [("TB", TB), ("GB", GB), ("MB", MB), ("KB", KB)]
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)\s*$", re.IGNORECASE)
_FACTORS = {"B": 1, "KB": KB, "MB": MB, "GB": GB, "TB": TB}


def _number(value: Decimal, language: str | None) -> str:
    locale = to_locale(language or get_language() or "en")
    try:
        return format_decimal(value, format="#,##0.##", locale=locale)
    except ValueError:  # a language babel does not know
        return format_decimal(value, format="#,##0.##", locale="en")


def format_bytes(n: int, language: str | None = None) -> str:
    """``3_000_000_000`` → "3 GB"; ``1_250_000_000`` → "1.25 GB"; ``500_000_000`` → "500 MB".

    At most three significant digits before rounding down: "1.25 GB", "12.5 GB", "125 GB".
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError("a byte count is an int")
    if n < 0:
        return "-" + format_bytes(-n, language)
    for symbol, factor in _UNITS:
        if n >= factor:
            value = Decimal(n) / factor
            places = 2 if value < 10 else 1 if value < 100 else 0
            value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)
            return f"{_number(value, language)} {symbol}"
    return f"{_number(Decimal(n), language)} B"


def parse_bytes(text: str) -> int:
    """"3GB" or "3 GB" → 3_000_000_000; "0.5 GB" → 500_000_000. Raises ValueError otherwise."""
    match = _SIZE_RE.match(text or "")
    if not match:
        raise ValueError(f"not a data size: {text!r}")
    value = Decimal(match.group(1)) * _FACTORS[match.group(2).upper()]
    if value != value.to_integral_value():
        raise ValueError(f"not a whole number of bytes: {text!r}")
    return int(value)


def format_kbps(kbps: int, language: str | None = None) -> str:
    """``512`` → "512 kbit/s"; ``1000`` → "1 Mbit/s"; ``1500`` → "1.5 Mbit/s" (decimal)."""
    if isinstance(kbps, bool) or not isinstance(kbps, int):
        raise TypeError("a speed in kbit/s is an int")
    if kbps >= 1000:
        value = (Decimal(kbps) / 1000).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        return f"{_number(value, language)} Mbit/s"
    return f"{_number(Decimal(kbps), language)} kbit/s"
