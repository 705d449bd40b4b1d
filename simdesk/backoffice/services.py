"""Staff actions: each calls one domain service and records an audit entry in the same
transaction, so the log holds exactly the actions that took effect.

``key`` is the form's one-time token: a form submitted twice (a double click, a
resent request) acts once. It becomes the ledger reference where the action has one.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from simdesk.cards.models import Card, LedgerEntry, Period
from simdesk.cards.services import card_resume, card_suspend, period_adjust
from simdesk.cards.services.validity import period_extend
from simdesk.catalog.coupons import coupon_upsert
from simdesk.catalog.models import Coupon, CouponAmount, CouponKind, Plan, normalize_coupon_code
from simdesk.catalog.services import plan_archive, plan_restore, plan_upsert
from simdesk.core.audit import audit_key_used, audit_record
from simdesk.core.errors import ServiceError
from simdesk.core.models import AuditEntry
from simdesk.notifications.messages import notify_esim_activation
from simdesk.orders.models import Order, RefundRequest
from simdesk.orders.services import (
    order_refund_staff,
    refund_request_approve,
    refund_request_reject,
)
from simdesk.payments.models import InboundWebhookEvent, Refund, WebhookStatus
from simdesk.payments.services import webhook_event_process
from simdesk.support.models import Announcement, Ticket, TicketMessage, TicketStatus
from simdesk.support.services import announcement_save, ticket_reply_staff, ticket_resolve


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


# --- Support inbox, announcements, coupons and plans ----------------------------------------

def staff_done_by_key(key: str, model) -> Any:
    """What an action recorded under ``key`` acted on (a resent "create" form), or None."""
    entry = AuditEntry.objects.filter(key=key).first()
    if entry is None:
        return None
    return model.objects.filter(public_id=entry.target_id).first()


def _changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the fields that differ, as (before, after)."""
    keys = [k for k in after if before.get(k) != after[k]] + [k for k in before
                                                              if k not in after]
    return ({k: before.get(k) for k in keys}, {k: after.get(k) for k in keys})


def _field_error(field: str, message) -> ServiceError:
    error = ServiceError(message, code="invalid")
    error.errors = [{"field": field, "message": str(message)}]
    return error


def staff_ticket_reply(*, ticket: Ticket, body: str, resolve: bool, acting_user, key: str,
                       now: datetime) -> TicketMessage | None:
    """Answer the customer (``ticket_reply_staff``: the ticket waits on them and they get
    the reply by e-mail after commit), and with ``resolve`` mark the ticket resolved in
    the same transaction. One audit entry, ``ticket.reply``. Sent twice, acts once."""
    with transaction.atomic():
        if audit_key_used(key):
            return None
        before = ticket.status
        message = ticket_reply_staff(ticket=ticket, author=acting_user, body=body, now=now)
        ticket.refresh_from_db()
        if resolve:
            ticket = ticket_resolve(ticket=ticket, actor=acting_user, now=now, note="staff")
        audit_record(actor=acting_user, action="ticket.reply", target=ticket, now=now,
                     before={"status": before},
                     after={"status": ticket.status, "message": str(message.public_id)},
                     key=key)
        return message


def staff_ticket_resolve(*, ticket: Ticket, acting_user, key: str, now: datetime) -> Ticket:
    """Mark the ticket resolved; a resolved ticket stays as it is and nothing is recorded."""
    with transaction.atomic():
        if audit_key_used(key):
            return ticket
        before = ticket.status
        ticket = ticket_resolve(ticket=ticket, actor=acting_user, now=now, note="staff")
        if before != TicketStatus.RESOLVED:
            audit_record(actor=acting_user, action="ticket.resolve", target=ticket, now=now,
                         before={"status": before}, after={"status": ticket.status}, key=key)
        return ticket


def _when(value) -> str | None:
    return value.isoformat() if value else None


def announcement_snapshot(announcement: Announcement) -> dict:
    return {
        "internal_name": announcement.internal_name,
        "starts_at": _when(announcement.starts_at), "ends_at": _when(announcement.ends_at),
        "audience": announcement.audience,
        "region": announcement.region.code if announcement.region_id else None,
        "plan": announcement.plan.code if announcement.plan_id else None,
        "coupon": announcement.coupon.code if announcement.coupon_id else None,
        "send_email": announcement.send_email,
        **{f"text.{row.language}": {"title": row.title, "body": row.body}
           for row in announcement.translations.order_by("language")},
    }


def staff_announcement_save(*, announcement: Announcement | None, fields: Mapping[str, Any],
                            texts: Mapping[str, tuple[str, str]], acting_user, key: str,
                            now: datetime) -> Announcement:
    """Create or edit an announcement (``support.services.announcement_save``), recording
    the changed fields before and after; an edit that changes nothing records nothing.
    A resent form acts once (a resent "create" returns the announcement it created)."""
    with transaction.atomic():
        if audit_key_used(key):
            return staff_done_by_key(key, Announcement) or announcement
        before = announcement_snapshot(announcement) if announcement is not None else {}
        saved = announcement_save(announcement=announcement, fields=fields, texts=texts,
                                  now=now)
        old, new = _changes(before, announcement_snapshot(saved))
        if announcement is None or new:
            audit_record(actor=acting_user, now=now, target=saved, before=old, after=new,
                         action="announcement.update" if announcement else "announcement.create",
                         key=key)
        return saved


def coupon_snapshot(coupon: Coupon) -> dict:
    return {
        "code": coupon.code, "description": coupon.description, "kind": coupon.kind,
        "percent_off": coupon.percent_off,
        "amounts": {row.currency: row.amount_minor for row in coupon.amounts.all()},
        "valid_from": _when(coupon.valid_from), "valid_until": _when(coupon.valid_until),
        "max_redemptions": coupon.max_redemptions, "max_per_customer": coupon.max_per_customer,
        "plans": sorted(plan.code for plan in coupon.plans.all()), "active": coupon.active,
    }


def _coupon_check(*, coupon: Coupon | None, code: str, terms: Mapping[str, Any],
                  amounts: Mapping[str, int]) -> None:
    """The model's own rules, field by field, before ``coupon_upsert`` (whose refusal is
    one sentence): a refusal is a ServiceError with ``errors`` naming the fields."""
    candidate = Coupon(pk=coupon.pk if coupon else None, code=code,
                       **{k: v for k, v in terms.items() if k != "plans"})
    errors: list[dict] = []
    try:
        candidate.full_clean(validate_unique=coupon is None)
    except ValidationError as error:
        errors += [{"field": name, "message": " ".join(msgs)}
                   for name, msgs in error.message_dict.items()]
    if terms.get("kind") == CouponKind.FIXED and not amounts:
        errors.append({"field": "amounts",
                       "message": _("Give the amount off in at least one currency.")})
    if terms.get("kind") == CouponKind.PERCENT and amounts:
        errors.append({"field": "amounts",
                       "message": _("A percent coupon has no amounts per currency: clear "
                                    "them, or choose a fixed amount off.")})
    for currency, minor in amounts.items():
        try:
            CouponAmount(currency=currency, amount_minor=minor).full_clean(exclude=["coupon"])
        except ValidationError as error:
            errors += [{"field": f"amounts.{currency}", "message": " ".join(msgs)}
                       for msgs in error.message_dict.values()]
    if errors:
        refused = ServiceError(" ".join(str(e["message"]) for e in errors),
                               code="invalid_coupon")
        refused.errors = errors
        raise refused


def staff_coupon_save(*, coupon: Coupon | None, code: str, terms: Mapping[str, Any],
                      amounts: Mapping[str, int], acting_user, key: str,
                      now: datetime) -> Coupon:
    """Create a coupon (its code must be new) or edit one (its code stays: uses refer to
    it) through ``catalog.coupons.coupon_upsert``; uses already made stay. ``terms``:
    description, kind, percent_off, valid_from, valid_until, max_redemptions,
    max_per_customer, plans. Records the changed fields; sent twice, acts once."""
    with transaction.atomic():
        if audit_key_used(key):
            return staff_done_by_key(key, Coupon) or coupon
        code = coupon.code if coupon is not None else normalize_coupon_code(code)
        if coupon is None and Coupon.objects.filter(code=code).exists():
            raise _field_error("code", _("There is already a coupon with this code: edit that "
                                         "one, or choose another code."))
        _coupon_check(coupon=coupon, code=code, terms=terms, amounts=amounts)
        before = coupon_snapshot(coupon) if coupon is not None else {}
        saved = coupon_upsert(code=code, now=now, amounts=dict(amounts),
                              active=coupon.active if coupon is not None else True, **terms)
        old, new = _changes(before, coupon_snapshot(saved))
        if coupon is None or new:
            audit_record(actor=acting_user, now=now, target=saved, before=old, after=new,
                         action="coupon.update" if coupon else "coupon.create", key=key)
        return saved


def staff_coupon_set_active(*, coupon: Coupon, active: bool, acting_user, key: str,
                            now: datetime) -> Coupon:
    """Archive a coupon (it stops working at checkout; its uses stay) or bring it back.
    Coupons are never deleted: orders refer to their uses. Safe to repeat."""
    with transaction.atomic():
        if audit_key_used(key) or coupon.active == active:
            return coupon
        snapshot = coupon_snapshot(coupon)
        terms = {name: snapshot[name] for name in ("description", "kind", "percent_off",
                                                   "max_redemptions", "max_per_customer")}
        saved = coupon_upsert(code=coupon.code, now=now, amounts=snapshot["amounts"],
                              plans=list(coupon.plans.all()), valid_from=coupon.valid_from,
                              valid_until=coupon.valid_until, active=active, **terms)
        audit_record(actor=acting_user, now=now, target=saved,
                     action="coupon.restore" if active else "coupon.archive",
                     before={"active": not active}, after={"active": active}, key=key)
        return saved


PLAN_TERMS = ("kind", "data_bytes", "fair_use_bytes", "throttle_kbps", "validity_days",
              "validity_start", "stacking", "renewable", "pausable", "max_pause_days",
              "sort_order")


def plan_snapshot(plan: Plan) -> dict:
    return {
        "code": plan.code, **{name: getattr(plan, name) for name in PLAN_TERMS},
        "region": plan.region.code if plan.region_id else None,
        "countries": sorted(plan.own_country_codes()),
        "prices": {row.currency: row.amount_minor for row in plan.prices.all()},
        **{f"name.{row.language}": {"name": row.name, "description": row.description}
           for row in plan.translations.order_by("language")},
        "status": plan.status,
    }


def staff_plan_save(*, plan: Plan | None, code: str, terms: Mapping[str, Any],
                    translations: Mapping[str, tuple[str, str]], prices: Mapping[str, int],
                    countries: list[str], acting_user, key: str, now: datetime) -> Plan:
    """Create a plan (its code must be new) or edit one (its code stays) through
    ``catalog.services.plan_upsert``: the rules of ``Plan.clean`` apply, refusals name
    their fields. Periods already sold keep the terms they copied. Records the changed
    fields before and after; sent twice, acts once."""
    with transaction.atomic():
        if audit_key_used(key):
            return staff_done_by_key(key, Plan) or plan
        if plan is None and Plan.objects.filter(code=code).exists():
            raise _field_error("code", _("There is already a plan with this code: edit that "
                                         "one, or choose another code."))
        code = plan.code if plan is not None else code
        before = plan_snapshot(plan) if plan is not None else {}
        saved = plan_upsert(code=code, terms=terms, translations=translations, prices=prices,
                            countries=countries, now=now)
        saved = Plan.objects.select_related("region").get(pk=saved.pk)
        old, new = _changes(before, plan_snapshot(saved))
        if plan is None or new:
            audit_record(actor=acting_user, now=now, target=saved, before=old, after=new,
                         action="plan.update" if plan else "plan.create", key=key)
        return saved


def staff_plan_set_status(*, plan: Plan, archived: bool, acting_user, key: str,
                          now: datetime) -> Plan:
    """Archive a plan (it is no longer sold; what was sold is untouched) or sell it again.
    Plans are never deleted. Safe to repeat: a plan already there records nothing."""
    with transaction.atomic():
        if audit_key_used(key):
            return plan
        before = plan.status
        plan = (plan_archive if archived else plan_restore)(plan=plan, now=now)
        if plan.status != before:
            audit_record(actor=acting_user, now=now, target=plan,
                         action="plan.archive" if archived else "plan.restore",
                         before={"status": before}, after={"status": plan.status}, key=key)
        return plan


# --- Refunds and payments --------------------------------------------------------------------

def staff_refund_request_approve(*, request: RefundRequest, amount_minor: int, acting_user,
                                 key: str, now: datetime, note: str = "") -> RefundRequest:
    """Approve a customer's pending refund request and refund ``amount_minor`` at once
    (``orders.services.refund_request_approve``: the service refuses more than what is
    left of the payment). Records status and amount before and after; sent twice, acts once."""
    with transaction.atomic():
        if audit_key_used(key):
            return request
        before = {"status": request.status, "amount_minor": request.amount_minor}
        rr = refund_request_approve(request=request, amount_minor=amount_minor,
                                    acting_user=acting_user, now=now, note=note)
        audit_record(actor=acting_user, action="refund_request.approve", target=rr, now=now,
                     before=before,
                     after={"status": rr.status, "amount_minor": rr.amount_minor,
                            "suggested_minor": int(rr.suggested_minor),
                            "currency": rr.currency, "order": str(rr.order.public_id)},
                     reason=note, key=key)
        return rr


def staff_refund_request_reject(*, request: RefundRequest, note: str, acting_user, key: str,
                                now: datetime) -> RefundRequest:
    """Reject a pending refund request with ``note`` to the customer (required); the period
    stays as it is. Sent twice, acts once."""
    if not (note or "").strip():
        raise ServiceError(_("Say why: a note to the customer is required."),
                           code="reason_required")
    with transaction.atomic():
        if audit_key_used(key):
            return request
        before = {"status": request.status, "amount_minor": request.amount_minor}
        rr = refund_request_reject(request=request, acting_user=acting_user, now=now,
                                   note=note)
        audit_record(actor=acting_user, action="refund_request.reject", target=rr, now=now,
                     before=before, after={"status": rr.status, "amount_minor": rr.amount_minor},
                     reason=note, key=key)
        return rr


def staff_order_refund(*, order: Order, amount_minor: int, reason: str, acting_user, key: str,
                       now: datetime) -> Refund | None:
    """Refund all or part of a paid order through its gateway
    (``orders.services.order_refund_staff``); records the order's and payment's status and
    refunded amount before and after. Sent twice, refunds once."""
    with transaction.atomic():
        if audit_key_used(key):
            return None
        payment = order.payment
        before = {"status": order.status,
                  "refunded_minor": int(payment.refunded_minor) if payment else 0}
        refund = order_refund_staff(order=order, amount_minor=amount_minor, reason=reason,
                                    acting_user=acting_user, key=key, now=now)
        order = Order.objects.select_related("payment", "period").get(pk=order.pk)
        after = {"status": order.status, "refunded_minor": int(order.payment.refunded_minor),
                 "amount_minor": amount_minor, "currency": order.currency,
                 "refund": str(refund.public_id)}
        if order.period_id:
            after["period_state"] = order.period.state
        audit_record(actor=acting_user, action="order.refund", target=order, now=now,
                     before=before, after=after, reason=reason, key=key)
        return refund


def staff_webhook_reprocess(*, event: InboundWebhookEvent, acting_user, key: str,
                            now: datetime) -> InboundWebhookEvent:
    """Process a stored webhook event again (``payments.services.webhook_event_process``,
    as the retry sweep does); an event already processed is left alone. Records the
    status, attempts and error before and after. Sent twice, acts once."""
    if event.status == WebhookStatus.PROCESSED:
        raise ServiceError(_("This event was already processed."), code="already_processed")
    with transaction.atomic():
        if audit_key_used(key):
            return event
        before = {"status": event.status, "attempts": event.attempts,
                  "last_error": event.last_error[:300]}
        event = webhook_event_process(event=event, now=now)
        audit_record(actor=acting_user, action="webhook.reprocess", target=event, now=now,
                     before=before,
                     after={"status": event.status, "attempts": event.attempts,
                            "last_error": event.last_error[:300]},
                     key=key)
        return event
