"""eSIM activation codes (GSMA SGP.22 §4.1).

``1$<SM-DP+ FQDN>$<matching id>[$<SM-DP+ OID>[$1]]``; the QR payload is that
string with ``LPA:`` in front. simdesk stores the code *without* the ``LPA:``
prefix and adds it only when drawing the QR code.
"""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

QR_PREFIX = "LPA:"
_FQDN_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_MATCHING_ID = re.compile(r"^[A-Za-z0-9-]{1,255}$")
_OID = re.compile(r"^[0-2](\.\d+)+$")


@dataclass(frozen=True)
class ActivationCode:
    smdp_address: str
    matching_id: str
    smdp_oid: str = ""
    confirmation_required: bool = False

    def __str__(self) -> str:
        parts = ["1", self.smdp_address, self.matching_id]
        if self.smdp_oid or self.confirmation_required:
            parts.append(self.smdp_oid)
        if self.confirmation_required:
            parts.append("1")
        return "$".join(parts)

    @property
    def qr_payload(self) -> str:
        return QR_PREFIX + str(self)


def _invalid(message) -> ValidationError:
    return ValidationError(message, code="activation_code")


def activation_code_parse(text: str) -> ActivationCode:
    """Parse a code with or without ``LPA:``; raise ValidationError saying what is wrong."""
    value = (text or "").strip()
    if value[: len(QR_PREFIX)].upper() == QR_PREFIX:
        value = value[len(QR_PREFIX):]
    parts = value.split("$")
    if len(parts) < 3 or len(parts) > 5 or parts[0] != "1":
        raise _invalid(_("An activation code looks like LPA:1$smdp.example.com$MATCHING-ID."))
    address, matching_id, *rest = parts[1:]
    labels = address.split(".")
    if len(address) > 253 or len(labels) < 2 or not all(_FQDN_LABEL.match(x) for x in labels):
        raise _invalid(_("The SM-DP+ address in the activation code is not a host name, "
                         "for example smdp.example.com."))
    if not _MATCHING_ID.match(matching_id):
        raise _invalid(_("The matching ID in the activation code must be letters, digits "
                         "and hyphens."))
    oid = rest[0] if rest else ""
    if oid and not _OID.match(oid):
        raise _invalid(_("The SM-DP+ OID in the activation code is not an object "
                         "identifier such as 1.3.6.1.4.1.31746."))
    confirmation = False
    if len(rest) == 2:
        if rest[1] != "1":
            raise _invalid(_("The last field of the activation code can only be 1 "
                             "(confirmation code required)."))
        confirmation = True
    return ActivationCode(address.lower(), matching_id, oid, confirmation)


def validate_activation_code(value: str) -> None:
    activation_code_parse(value)


def activation_code_normalize(text: str) -> str:
    """The stored form: parsed and printed again, without the ``LPA:`` prefix."""
    return str(activation_code_parse(text))
