"""What the back office's editors (announcements, coupons, plans) share: turning a
service's refusal into errors on the form's fields, prices typed as decimals, data
sizes typed as "5 GB", and date-time inputs in the staff member's time zone."""

from collections.abc import Callable
from decimal import Decimal

from django import forms
from django.utils.translation import gettext as _

from simdesk.core.errors import ServiceError
from simdesk.core.money import currency_exponent
from simdesk.core.units import GB, KB, MB, TB, parse_bytes

# The largest amount a PositiveBigIntegerField holds.
BIG = 2**63 - 1


def show_service_error(form: forms.Form, error: ServiceError,
                       field_for: Callable[[str], str | None] = lambda name: name) -> None:
    """Put each of ``error.errors`` (``{"field", "message"}``) on the form field
    ``field_for(name)`` names, or at the top of the form when it names none."""
    items = getattr(error, "errors", None) or [{"field": "__all__", "message": error.message}]
    for item in items:
        field = field_for(item["field"])
        if field not in form.fields:
            field = None
        form.add_error(field, item["message"])


class DateTimeField(forms.DateTimeField):
    """A ``datetime-local`` input; what is typed is in the current time zone."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def language_slug(language: str) -> str:
    """A form field suffix for a language code: ``zh-hans`` → ``zh_hans``."""
    return language.replace("-", "_")


def money_field(currency: str, *, label: str) -> forms.DecimalField:
    places = currency_exponent(currency)
    return forms.DecimalField(label=label, required=False, min_value=0, max_digits=18,
                              decimal_places=places,
                              widget=forms.TextInput(attrs={"inputmode": "decimal",
                                                            "size": 10}))


def to_minor(amount: Decimal, currency: str) -> int:
    """4.99 USD → 499; 600 JPY → 600: exact (the field already allows only the
    currency's decimal places)."""
    minor = amount.scaleb(currency_exponent(currency))
    if minor != minor.to_integral_value():
        raise forms.ValidationError(_("Use at most %(places)d decimal places.")
                                    % {"places": currency_exponent(currency)})
    minor = int(minor)
    if minor < 1:
        raise forms.ValidationError(_("Write an amount above zero, or leave it empty."))
    if minor > BIG:
        raise forms.ValidationError(_("This amount is too large."))
    return minor


def from_minor(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-currency_exponent(currency))


def size_text(n: int | None) -> str:
    """Bytes as an exact "5 GB" / "1.5 GB" / "750 MB" that ``parse_bytes`` reads back."""
    if n is None:
        return ""
    for symbol, factor in (("TB", TB), ("GB", GB), ("MB", MB), ("KB", KB)):
        if n >= factor:
            return f"{(Decimal(n) / factor).normalize():f} {symbol}"
    return f"{n} B"


def parse_size(text: str, *, required: bool = False) -> int | None:
    """"5 GB" → 5_000_000_000; empty → None (unless ``required``)."""
    text = (text or "").strip()
    if not text:
        if required:
            raise forms.ValidationError(_("This field is required."))
        return None
    try:
        value = parse_bytes(text)
    except ValueError:
        raise forms.ValidationError(_("Write a size such as 500 MB, 5 GB or 1.5 GB."),
                                    code="invalid") from None
    if value < 1:
        raise forms.ValidationError(_("Write a size above zero."))
    if value > BIG:
        raise forms.ValidationError(_("This size is too large."))
    return value
