"""eSIM activation QR codes, drawn on the server as inline SVG (no image request, no CDN)."""

from urllib.parse import quote

import segno
from django.utils.safestring import SafeString, mark_safe

IOS_INSTALL_URL = "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata="

# Phones scan activation codes off other screens and paper: medium error
# correction (segno raises it further when the version has room) and the
# standard four-module quiet zone.
QR_ERROR = "m"
QR_BORDER = 4


def activation_qr(payload: str) -> segno.QRCode:
    """The QR code for an ``LPA:1$…`` payload (never a Micro QR: phones do not read those)."""
    return segno.make(payload, error=QR_ERROR, micro=False)


def activation_qr_svg(payload: str, *, title: str, svg_id: str = "activation-qr") -> SafeString:
    """Inline SVG of the QR code, scalable (viewBox only), with ``title`` as its accessible name."""
    svg = activation_qr(payload).svg_inline(
        scale=1,
        border=QR_BORDER,
        title=title,  # segno escapes it
        svgid=svg_id,
        svgclass="qr-code",
        lineclass=None,
        omitsize=True,
        dark="#000",
        light="#fff",
    )
    # segno has no option for ARIA attributes; its output always starts with "<svg ".
    return mark_safe(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S308


def ios_install_url(payload: str) -> str:
    """Apple's one-tap eSIM install link (iOS 17.5+) for an ``LPA:1$…`` payload."""
    return IOS_INSTALL_URL + quote(payload, safe="")
