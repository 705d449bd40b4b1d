"""ICCID (ITU-T E.118): 19 or 20 digits, issuer prefix 89, last digit a Luhn check digit."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_SEPARATORS = re.compile(r"[\s-]+")


def iccid_normalize(value: str) -> str:
    """Drop the spaces and hyphens people copy from a SIM carrier card."""
    return _SEPARATORS.sub("", value or "")


def luhn_check_digit(payload: str) -> int:
    """The Luhn digit that makes ``payload + digit`` valid."""
    total = 0
    # Walking from the right, the digit next to the (missing) check digit is doubled.
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def luhn_is_valid(number: str) -> bool:
    return number.isdigit() and len(number) >= 2 and (
        luhn_check_digit(number[:-1]) == int(number[-1])
    )


def validate_iccid(value: str) -> None:
    """Raise a ValidationError that says what is wrong with the ICCID."""
    if not value or not value.isascii() or not value.isdigit():
        raise ValidationError(
            _("An ICCID is made of digits only, for example 8944500102198304826."),
            code="iccid_digits",
        )
    if not 19 <= len(value) <= 20:
        raise ValidationError(
            _("An ICCID has 19 or 20 digits; this one has %(count)d. Check it against the "
              "SIM card."),
            code="iccid_length",
            params={"count": len(value)},
        )
    if not value.startswith("89"):
        raise ValidationError(
            _("An ICCID starts with 89. Check it against the SIM card."),
            code="iccid_prefix",
        )
    if not luhn_is_valid(value):
        raise ValidationError(
            _("This ICCID's last digit does not match the others (Luhn check), so it has a "
              "typing mistake. Check it against the SIM card."),
            code="iccid_checksum",
        )


def iccid_with_check_digit(payload: str) -> str:
    """Complete a 18–19 digit ICCID body with its check digit (imports, demo data)."""
    return payload + str(luhn_check_digit(payload))
