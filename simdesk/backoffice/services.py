"""Staff actions: each calls one domain service and records an audit entry in the same
transaction, so the log holds exactly the actions that took effect.

``key`` is the form's one-time token: a form submitted twice (a double click, a
resent request) acts once. It becomes the ledger reference where the action has one.
"""

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from simdesk.cards.models import Card, LedgerEntry, Period
from simdesk.cards.services import card_resume, card_suspend, period_adjust
from simdesk.cards.services.validity import period_extend
from simdesk.core.audit import audit_key_used, audit_record
from simdesk.core.errors import ServiceError
from simdesk.notifications.messages import notify_esim_activation


def staff_card_suspend(*, card: Card, reason: str, acting_user, key: str,
                       now: datetime) -> Card:
    with transaction.atomic():
        if audit_key_used(key):
            return card
        before = card.state
        card = card_suspend(card=card, reason=reason, now=now, actor=acting_user)
        audit_record(actor=acting_user, action="card.suspend", target=card, now=now,
                     before={"state": before}, after={"state": card.state},
                     reason=reason, key=key)
        return card


def staff_card_resume(*, card: Card, reason: str, acting_user, key: str,
                      now: datetime) -> Card:
    with transaction.atomic():
        if audit_key_used(key):
            return card
        before = card.state
        card = card_resume(card=card, reason=reason, now=now, actor=acting_user)
        audit_record(actor=acting_user, action="card.resume", target=card, now=now,
                     before={"state": before}, after={"state": card.state},
                     reason=reason, key=key)
        return card


def staff_balance_adjust(*, period: Period, amount: int, reason: str, acting_user, key: str,
                         now: datetime) -> LedgerEntry:
    """Add (positive) or take away (negative) ``amount`` bytes; a reason is required and
    becomes the ledger row's note."""
    if not reason.strip():
        raise ServiceError(_("Say why: a reason is required."), code="reason_required")
    with transaction.atomic():
        before = period.remaining_bytes
        entry = period_adjust(period=period, amount=amount, reference=f"adjust:{key}",
                              now=now, note=reason[:200])
        if not audit_key_used(key):
            period.refresh_from_db()
            audit_record(actor=acting_user, action="period.adjust", target=period.card,
                         now=now, before={"period": str(period.public_id),
                                          "remaining_bytes": before},
                         after={"period": str(period.public_id),
                                "remaining_bytes": period.remaining_bytes,
                                "amount": amount},
                         reason=reason, key=key)
        return entry


def staff_period_extend(*, period: Period, days: int, reason: str, acting_user, key: str,
                        now: datetime) -> Period:
    with transaction.atomic():
        if audit_key_used(key):
            return period
        before = period.ends_at
        period = period_extend(period=period, days=days, now=now)
        audit_record(actor=acting_user, action="period.extend", target=period.card, now=now,
                     before={"period": str(period.public_id),
                             "ends_at": before.isoformat() if before else None},
                     after={"period": str(period.public_id), "days": days,
                            "ends_at": period.ends_at.isoformat() if period.ends_at else None},
                     reason=reason, key=key)
        return period


def staff_activation_resend(*, card: Card, acting_user, key: str, now: datetime) -> None:
    """E-mail the card's owner its activation code again (an eSIM with an owner only)."""
    if card.owner_id is None or not card.activation_code:
        raise ServiceError(_("This card has no owner or no activation code to send."),
                           code="nothing_to_send")
    with transaction.atomic():
        if audit_key_used(key):
            return
        notify_esim_activation(user=card.owner, iccid=card.iccid,
                               activation_code=card.activation_code,
                               dedupe_key=f"resend:{key}", now=now)
        audit_record(actor=acting_user, action="card.resend_activation", target=card, now=now,
                     after={"to": card.owner.email}, key=key)
