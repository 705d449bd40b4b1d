"""One function per message simdesk sends. Callers name what happened; this module
decides what the customer reads.

Each ``notify_*`` function queues an outbox row (after commit, idempotent by
``dedupe_key``); each kind below says how its stored context becomes the
template context at send time, in the recipient's language and time zone.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.utils.dateparse import parse_datetime

from simdesk.core.clock import utcnow
from simdesk.core.money import Money
from simdesk.core.units import format_bytes

from .models import Notification
from .services import notification_queue

ORDER_RECEIPT = "order_receipt"
ESIM_ACTIVATION = "esim_activation"
PAYMENT_FAILED = "payment_failed"

IOS_ESIM_SETUP_URL = "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata="


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str
    content_id: str | None = None  # set: shown inline in the HTML as cid:<content_id>


@dataclass
class Prepared:
    context: dict[str, Any]
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class MessageKind:
    """Templates live in ``notifications/email/<template>/{subject.txt,body.txt,body.html}``."""

    template: str
    prepare: Callable[[dict[str, Any], str], Prepared]


def absolute_url(url: str) -> str:
    """E-mails leave the site: a path like /orders/… becomes https://site/orders/…."""
    if not url or url.startswith(("http://", "https://")):
        return url
    return f"{settings.SITE_URL}/{url.lstrip('/')}"


def lpa_payload(activation_code: str) -> str:
    """The QR payload of an activation code: ``LPA:1$<SM-DP+>$<matching id>``."""
    code = activation_code.strip()
    return code if code.upper().startswith("LPA:") else f"LPA:{code}"


def ios_install_url(activation_code: str) -> str:
    return IOS_ESIM_SETUP_URL + quote(lpa_payload(activation_code), safe="")


def qr_png(payload: str) -> bytes:
    import io

    import segno

    buffer = io.BytesIO()
    segno.make(payload, error="m").save(buffer, kind="png", scale=6, border=4)
    return buffer.getvalue()


def _when(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def _money(amount_minor: int | None, currency: str, language: str) -> str:
    return Money(int(amount_minor or 0), currency).format(language)


# --- Order receipt ---------------------------------------------------------------------------

def notify_order_receipt(*, user, receipt: dict[str, Any], dedupe_key: str,
                         now: datetime | None = None) -> Notification:
    """Tell the customer their order is paid and what they got, with the receipt.

    ``receipt``: order_id, created_at/paid_at (ISO), plan_name, card_iccid,
    amount_minor, discount_minor, total_minor, currency, period_starts_at/
    period_ends_at (ISO or None), data_bytes (or None for unlimited), receipt_url.
    Queued once per ``dedupe_key``.
    """
    return notification_queue(user=user, kind=ORDER_RECEIPT, context=dict(receipt),
                              dedupe_key=dedupe_key, now=now or utcnow())


def _prepare_order_receipt(context: dict[str, Any], language: str) -> Prepared:
    currency = context["currency"]
    discount = int(context.get("discount_minor") or 0)
    data_bytes = context.get("data_bytes")
    return Prepared({
        "order_id": context.get("order_id", ""),
        "created_at": _when(context.get("created_at")),
        "paid_at": _when(context.get("paid_at")),
        "plan_name": context.get("plan_name", ""),
        "card_iccid": context.get("card_iccid", ""),
        "amount": _money(context.get("amount_minor"), currency, language),
        "discount": _money(discount, currency, language) if discount else "",
        "total": _money(context.get("total_minor"), currency, language),
        "period_starts_at": _when(context.get("period_starts_at")),
        "period_ends_at": _when(context.get("period_ends_at")),
        "data": format_bytes(int(data_bytes), language) if data_bytes is not None else None,
        "receipt_url": absolute_url(context.get("receipt_url", "")),
        "shows_times": True,
    })


# --- eSIM activation -------------------------------------------------------------------------

def notify_esim_activation(*, user, iccid: str, activation_code: str, dedupe_key: str,
                           now: datetime | None = None) -> Notification:
    """Send the new eSIM's activation details: the QR code (attached and shown inline),
    the activation code as text for manual entry, and the one-tap iOS install link.
    Queued once per ``dedupe_key``."""
    return notification_queue(
        user=user, kind=ESIM_ACTIVATION,
        context={"iccid": iccid, "activation_code": activation_code},
        dedupe_key=dedupe_key, now=now or utcnow(),
    )


QR_CONTENT_ID = "esim-qr@simdesk"


def _prepare_esim_activation(context: dict[str, Any], language: str) -> Prepared:
    payload = lpa_payload(context["activation_code"])
    parts = payload[4:].split("$")
    return Prepared(
        {
            "iccid": context["iccid"],
            "lpa": payload,
            "smdp_address": parts[1] if len(parts) > 1 else "",
            "matching_id": parts[2] if len(parts) > 2 else "",
            "ios_url": ios_install_url(payload),
            "qr_cid": QR_CONTENT_ID,
        },
        [Attachment(filename=f"esim-{context['iccid']}.png", content=qr_png(payload),
                    mimetype="image/png", content_id=QR_CONTENT_ID)],
    )


# --- Payment failed --------------------------------------------------------------------------

def notify_payment_failed(*, user, reason: str, retry_url: str, dedupe_key: str,
                          now: datetime | None = None) -> Notification:
    """Tell the customer a payment did not go through, why, and where to try again.
    ``reason`` is already written for the customer. Queued once per ``dedupe_key``."""
    return notification_queue(
        user=user, kind=PAYMENT_FAILED, context={"reason": reason, "retry_url": retry_url},
        dedupe_key=dedupe_key, now=now or utcnow(),
    )


def _prepare_payment_failed(context: dict[str, Any], language: str) -> Prepared:
    return Prepared({"reason": context.get("reason", ""),
                     "retry_url": absolute_url(context.get("retry_url", ""))})


KINDS: dict[str, MessageKind] = {
    ORDER_RECEIPT: MessageKind("order_receipt", _prepare_order_receipt),
    ESIM_ACTIVATION: MessageKind("esim_activation", _prepare_esim_activation),
    PAYMENT_FAILED: MessageKind("payment_failed", _prepare_payment_failed),
}
