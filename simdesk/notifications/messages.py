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
from django.utils.translation import gettext as _

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


# --- Auto-renewal ----------------------------------------------------------------------------
# Context for all five: card_iccid, plan_name, amount_minor, currency, settings_url (where
# the customer changes plan or payment method) and off_url (the signed one-click link that
# turns auto-renewal off without signing in); each adds its own times or reason.

RENEWAL_REMINDER = "renewal_reminder"
RENEWAL_SUCCEEDED = "renewal_succeeded"
RENEWAL_FAILED = "renewal_failed"
RENEWAL_DISABLED = "renewal_disabled"


def _renewal_context(context: dict[str, Any], language: str) -> dict[str, Any]:
    return {
        "card_iccid": context.get("card_iccid", ""),
        "plan_name": context.get("plan_name", ""),
        "amount": _money(context.get("amount_minor"), context.get("currency", "USD"), language),
        "settings_url": absolute_url(context.get("settings_url", "")),
        "off_url": absolute_url(context.get("off_url", "")),
        "shows_times": True,
    }


def notify_renewal_reminder(*, user, renewal: dict[str, Any], charge_at: datetime,
                            dedupe_key: str, now: datetime | None = None) -> Notification:
    """Tell the customer their card renews soon: what, for how much, and when the saved
    method is charged (``charge_at``). Queued once per ``dedupe_key``."""
    context = {**renewal, "charge_at": charge_at.isoformat()}
    return notification_queue(user=user, kind=RENEWAL_REMINDER, context=context,
                              dedupe_key=dedupe_key, now=now or utcnow())


def _prepare_renewal_reminder(context: dict[str, Any], language: str) -> Prepared:
    return Prepared({**_renewal_context(context, language),
                     "charge_at": _when(context.get("charge_at"))})


def notify_renewal_succeeded(*, user, renewal: dict[str, Any], starts_at: datetime | None,
                             dedupe_key: str, now: datetime | None = None) -> Notification:
    """Tell the customer their card was renewed and when the new period starts.
    Queued once per ``dedupe_key``."""
    context = {**renewal, "starts_at": starts_at.isoformat() if starts_at else None}
    return notification_queue(user=user, kind=RENEWAL_SUCCEEDED, context=context,
                              dedupe_key=dedupe_key, now=now or utcnow())


def _prepare_renewal_succeeded(context: dict[str, Any], language: str) -> Prepared:
    return Prepared({**_renewal_context(context, language),
                     "starts_at": _when(context.get("starts_at"))})


def notify_renewal_failed(*, user, renewal: dict[str, Any], reason: str,
                          next_attempt_at: datetime, dedupe_key: str,
                          now: datetime | None = None) -> Notification:
    """Tell the customer a renewal charge was declined, why (``reason`` is written for the
    customer), when it is tried again, and where to fix the payment method.
    Queued once per ``dedupe_key``."""
    context = {**renewal, "reason": reason, "next_attempt_at": next_attempt_at.isoformat()}
    return notification_queue(user=user, kind=RENEWAL_FAILED, context=context,
                              dedupe_key=dedupe_key, now=now or utcnow())


def _prepare_renewal_failed(context: dict[str, Any], language: str) -> Prepared:
    return Prepared({**_renewal_context(context, language), "reason": context.get("reason", ""),
                     "next_attempt_at": _when(context.get("next_attempt_at"))})


def notify_renewal_disabled(*, user, renewal: dict[str, Any], reason: str, dedupe_key: str,
                            now: datetime | None = None) -> Notification:
    """Tell the customer auto-renewal switched itself off (the last retry was declined)
    and why. Queued once per ``dedupe_key``."""
    return notification_queue(user=user, kind=RENEWAL_DISABLED,
                              context={**renewal, "reason": reason},
                              dedupe_key=dedupe_key, now=now or utcnow())


def _prepare_renewal_disabled(context: dict[str, Any], language: str) -> Prepared:
    return Prepared({**_renewal_context(context, language), "reason": context.get("reason", "")})


RENEWAL_AUTHENTICATION = "renewal_authentication"


def notify_renewal_authentication(*, user, renewal: dict[str, Any], authenticate_url: str,
                                  authenticate_by: datetime, card_label: str,
                                  dedupe_key: str, now: datetime | None = None) -> Notification:
    """Tell the customer their bank wants them to confirm a renewal charge: what it is for,
    on which saved method (``card_label``), the link to confirm it (``authenticate_url``)
    and until when (``authenticate_by``). Queued once per ``dedupe_key``."""
    context = {**renewal, "authenticate_url": authenticate_url, "card_label": card_label,
               "authenticate_by": authenticate_by.isoformat()}
    return notification_queue(user=user, kind=RENEWAL_AUTHENTICATION, context=context,
                              dedupe_key=dedupe_key, now=now or utcnow())


def _prepare_renewal_authentication(context: dict[str, Any], language: str) -> Prepared:
    return Prepared({**_renewal_context(context, language),
                     "authenticate_url": absolute_url(context.get("authenticate_url", "")),
                     # Never the gateway's token: a method without a label is named generically.
                     "card_label": context.get("card_label") or _("saved payment method"),
                     "authenticate_by": _when(context.get("authenticate_by"))})


KINDS.update({
    RENEWAL_REMINDER: MessageKind("renewal_reminder", _prepare_renewal_reminder),
    RENEWAL_AUTHENTICATION: MessageKind("renewal_authentication",
                                        _prepare_renewal_authentication),
    RENEWAL_SUCCEEDED: MessageKind("renewal_succeeded", _prepare_renewal_succeeded),
    RENEWAL_FAILED: MessageKind("renewal_failed", _prepare_renewal_failed),
    RENEWAL_DISABLED: MessageKind("renewal_disabled", _prepare_renewal_disabled),
})


# --- Pause ----------------------------------------------------------------------------------

PAUSE_ENDED = "pause_ended"


def notify_pause_ended(*, user, pause: dict[str, Any], dedupe_key: str,
                       now: datetime | None = None) -> Notification:
    """Tell the customer their card's pause ended by itself: it reached the longest pause
    the plan allows, the card carries data again (unless staff suspended it meanwhile),
    and the paused time was added to the end of its plan.

    ``pause``: card_iccid, card_label, paused_at, ended_at, valid_until (ISO or None),
    paused_seconds, suspended (bool), card_url. Queued once per ``dedupe_key``.
    """
    return notification_queue(user=user, kind=PAUSE_ENDED, context=dict(pause),
                              dedupe_key=dedupe_key, now=now or utcnow())


def _prepare_pause_ended(context: dict[str, Any], language: str) -> Prepared:
    return Prepared({
        "card_name": _card_name(context.get("card_label", ""), context.get("card_iccid", "")),
        "paused_at": _when(context.get("paused_at")),
        "ended_at": _when(context.get("ended_at")),
        "valid_until": _when(context.get("valid_until")),
        "suspended": bool(context.get("suspended")),
        "card_url": absolute_url(context.get("card_url", "")),
        "shows_times": True,
    })


KINDS[PAUSE_ENDED] = MessageKind("pause_ended", _prepare_pause_ended)


# --- Usage and expiry alerts -----------------------------------------------------------------

USAGE_ALERT = "usage_alert"
EXPIRY_ALERT = "expiry_alert"


def _plan_name(names: dict[str, str], fallback: str, language: str) -> str:
    """The plan's name as sold, in the reader's language when it was sold in it."""
    wanted = (language or "en").lower()
    for candidate in (wanted, wanted.split("-")[0], "en"):
        if names.get(candidate):
            return names[candidate]
    return next(iter(names.values()), fallback)


def _card_name(label: str, iccid: str) -> str:
    """How a card is named in an alert: its label, else the end of its ICCID (…0113)."""
    tail = f"…{iccid[-4:]}" if iccid else ""
    return f"{label} ({tail})" if label and tail else label or tail


def notify_usage_alert(*, user, alert: dict[str, Any], dedupe_key: str,
                       now: datetime | None = None) -> Notification:
    """Tell the customer a period crossed a usage threshold they chose.

    ``alert``: threshold (percent), used_percent, remaining_bytes, total_bytes,
    plan_names ({language: name}), plan_code, card_iccid, card_label, ends_at (ISO
    or None), card_url, plans_url, settings_url. Queued once per ``dedupe_key``.
    """
    return notification_queue(user=user, kind=USAGE_ALERT, context=dict(alert),
                              dedupe_key=dedupe_key, now=now or utcnow())


def notify_expiry_alert(*, user, alert: dict[str, Any], dedupe_key: str,
                        now: datetime | None = None) -> Notification:
    """Tell the customer a period ends soon.

    ``alert``: threshold (days), days_left, ends_at (ISO), remaining_bytes (None for
    unlimited), plan_names, plan_code, card_iccid, card_label, card_url, plans_url,
    settings_url.
    Queued once per ``dedupe_key``.
    """
    return notification_queue(user=user, kind=EXPIRY_ALERT, context=dict(alert),
                              dedupe_key=dedupe_key, now=now or utcnow())


def _prepare_alert(context: dict[str, Any], language: str) -> dict[str, Any]:
    remaining = context.get("remaining_bytes")
    return {
        "plan_name": _plan_name(context.get("plan_names") or {}, context.get("plan_code", ""),
                                language),
        "card_name": _card_name(context.get("card_label", ""), context.get("card_iccid", "")),
        "remaining": format_bytes(int(remaining), language) if remaining is not None else None,
        "ends_at": _when(context.get("ends_at")),
        "card_url": absolute_url(context.get("card_url", "")),
        "plans_url": absolute_url(context.get("plans_url", "")),
        "settings_url": absolute_url(context.get("settings_url", "")),
        "shows_times": True,
    }


def _prepare_usage_alert(context: dict[str, Any], language: str) -> Prepared:
    return Prepared({**_prepare_alert(context, language),
                     "used_percent": int(context.get("used_percent", 0)),
                     "threshold": int(context.get("threshold", 0))})


def _prepare_expiry_alert(context: dict[str, Any], language: str) -> Prepared:
    return Prepared({**_prepare_alert(context, language),
                     "days_left": int(context.get("days_left", 0)),
                     "threshold": int(context.get("threshold", 0))})


KINDS[USAGE_ALERT] = MessageKind("usage_alert", _prepare_usage_alert)
KINDS[EXPIRY_ALERT] = MessageKind("expiry_alert", _prepare_expiry_alert)


# --- Support ---------------------------------------------------------------------------------

TICKET_REPLY = "ticket_reply"
ANNOUNCEMENT = "announcement"


def notify_ticket_reply(*, user, reply: dict[str, Any], dedupe_key: str,
                        now: datetime | None = None) -> Notification:
    """Send the customer a staff reply to their support request.

    ``reply``: ticket_id, subject, body (the reply as written), ticket_url (where to
    read the conversation and answer). Queued once per ``dedupe_key`` (one per reply).
    """
    return notification_queue(user=user, kind=TICKET_REPLY, context=dict(reply),
                              dedupe_key=dedupe_key, now=now or utcnow())


def _prepare_ticket_reply(context: dict[str, Any], language: str) -> Prepared:
    return Prepared({"subject": context.get("subject", ""), "body": context.get("body", ""),
                     "ticket_url": absolute_url(context.get("ticket_url", ""))})


def notify_announcement(*, user, announcement: dict[str, Any], dedupe_key: str,
                        now: datetime | None = None) -> Notification:
    """Send news or an offer to a customer who opted in to them.

    ``announcement``: announcement_id, texts ({language: {title, body}}), coupon_code
    ("" for none), url, ends_at (ISO). The reader gets the text in their language
    (else English, else any). Queued once per ``dedupe_key``.
    """
    return notification_queue(user=user, kind=ANNOUNCEMENT, context=dict(announcement),
                              dedupe_key=dedupe_key, now=now or utcnow())


def _prepare_announcement(context: dict[str, Any], language: str) -> Prepared:
    texts = {code.lower(): text for code, text in (context.get("texts") or {}).items()}
    wanted = (language or "en").lower()
    text = next((texts[code] for code in (wanted, wanted.split("-")[0], "en") if code in texts),
                next(iter(texts.values()), {}))
    return Prepared({"title": text.get("title", ""), "body": text.get("body", ""),
                     "coupon_code": context.get("coupon_code", ""),
                     "url": absolute_url(context.get("url", "")),
                     "ends_at": _when(context.get("ends_at")), "shows_times": True})


KINDS[TICKET_REPLY] = MessageKind("ticket_reply", _prepare_ticket_reply)
KINDS[ANNOUNCEMENT] = MessageKind("announcement", _prepare_announcement)


# --- Refunds ---------------------------------------------------------------------------------
# Context for all three: card_iccid, plan_names ({language: name}), plan_code, currency,
# paid_minor, card_url; each adds its amount or note.

REFUND_MADE = "refund_made"
REFUND_REQUEST_RECEIVED = "refund_request_received"
REFUND_REQUEST_REJECTED = "refund_request_rejected"


def _refund_context(context: dict[str, Any], language: str) -> dict[str, Any]:
    currency = context.get("currency", "USD")
    return {
        "card_iccid": context.get("card_iccid", ""),
        "plan_name": _plan_name(context.get("plan_names") or {}, context.get("plan_code", ""),
                                language),
        "paid": _money(context.get("paid_minor"), currency, language),
        "card_url": absolute_url(context.get("card_url", "")),
    }


def notify_refund_made(*, user, refund: dict[str, Any], dedupe_key: str,
                       now: datetime | None = None) -> Notification:
    """Confirm a refund: how much goes back to the original payment method, for which plan,
    and why (``refund["cause"]``: "customer" or "plan_change"). Queued once per
    ``dedupe_key``."""
    return notification_queue(user=user, kind=REFUND_MADE, context=dict(refund),
                              dedupe_key=dedupe_key, now=now or utcnow())


def _prepare_refund_made(context: dict[str, Any], language: str) -> Prepared:
    return Prepared({**_refund_context(context, language),
                     "amount": _money(context.get("amount_minor"),
                                      context.get("currency", "USD"), language),
                     "plan_change": context.get("cause") == "plan_change",
                     # A partial refund by staff leaves the plan running.
                     "plan_ended": context.get("plan_ended", True)})


def notify_refund_request_received(*, user, refund: dict[str, Any], dedupe_key: str,
                                   now: datetime | None = None) -> Notification:
    """Tell the customer their refund request is with our staff. Queued once per
    ``dedupe_key``."""
    return notification_queue(user=user, kind=REFUND_REQUEST_RECEIVED, context=dict(refund),
                              dedupe_key=dedupe_key, now=now or utcnow())


def _prepare_refund_request_received(context: dict[str, Any], language: str) -> Prepared:
    return Prepared(_refund_context(context, language))


def notify_refund_request_rejected(*, user, refund: dict[str, Any], dedupe_key: str,
                                   now: datetime | None = None) -> Notification:
    """Tell the customer their refund request was declined, with staff's note
    (``refund["note"]``, may be empty). Queued once per ``dedupe_key``."""
    return notification_queue(user=user, kind=REFUND_REQUEST_REJECTED, context=dict(refund),
                              dedupe_key=dedupe_key, now=now or utcnow())


def _prepare_refund_request_rejected(context: dict[str, Any], language: str) -> Prepared:
    return Prepared({**_refund_context(context, language), "note": context.get("note", "")})


KINDS.update({
    REFUND_MADE: MessageKind("refund_made", _prepare_refund_made),
    REFUND_REQUEST_RECEIVED: MessageKind("refund_request_received",
                                         _prepare_refund_request_received),
    REFUND_REQUEST_REJECTED: MessageKind("refund_request_rejected",
                                         _prepare_refund_request_rejected),
})
