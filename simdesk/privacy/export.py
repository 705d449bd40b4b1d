"""Download my data: everything simdesk holds about one customer, as one JSON document.

Only the customer's own rows are read, each through its owner (``customer`` /
``owner`` / ``user``), and only what the customer may see: never a password hash,
a token hash or secret, a gateway token, an idempotency key or a pay-page address.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from simdesk.accounts.models import PersonalAccessToken, User
from simdesk.cards.models import Card, LedgerEntry, LedgerKind, Period
from simdesk.notifications.models import Notification, NotificationPreferences
from simdesk.orders.models import Order, RefundRequest
from simdesk.payments.models import Payment, SavedPaymentMethod
from simdesk.renewals.models import RenewalSettings

FORMAT_VERSION = 1


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _profile(customer: User) -> dict[str, Any]:
    preferences = NotificationPreferences.objects.filter(user=customer).first()
    return {
        "id": str(customer.public_id),
        "email": customer.email,
        "joined_at": _iso(customer.date_joined),
        "last_login_at": _iso(customer.last_login),
        "preferences": {
            "language": customer.language,
            "time_zone": customer.time_zone,
            "currency": customer.currency,
        },
        "notification_preferences": {
            "news_and_offers": preferences.marketing,
            "usage_and_expiry_alerts": preferences.alerts,
            "usage_thresholds_percent_used": list(preferences.usage_thresholds),
            "expiry_alerts_days_before": list(preferences.expiry_days),
        } if preferences else None,
        "email_addresses": [
            {"email": address.email, "verified": address.verified, "primary": address.primary}
            for address in EmailAddress.objects.filter(user=customer).order_by("pk")
        ],
        # Which second factors are set up, never their secrets or recovery codes.
        "two_factor_methods": sorted(
            Authenticator.objects.filter(user=customer).values_list("type", flat=True)),
    }


def _customer_periods(card: Card, customer: User) -> QuerySet[Period]:
    """The card's periods that are this customer's: not bought by someone else, and not
    closed before the customer added the card (a card can change hands)."""
    periods = card.periods.filter(Q(order__isnull=True) | Q(order__customer=customer))
    if card.claimed_at is not None:
        periods = periods.filter(Q(closed_at__isnull=True) | Q(closed_at__gte=card.claimed_at)
                                 | Q(order__customer=customer))
    return periods.order_by("created_at", "pk")


def _period(period: Period) -> dict[str, Any]:
    return {
        "id": str(period.public_id),
        "plan_code": period.plan_code,
        "plan_names": dict(period.names),
        "kind": period.kind,
        "state": period.state,
        "unlimited": period.unlimited,
        "total_bytes": period.total_bytes,
        "remaining_bytes": period.remaining_bytes,
        "used_bytes": period.used_bytes,
        "validity_days": period.validity_days,
        "starts_at": _iso(period.starts_at),
        "ends_at": _iso(period.ends_at),
        "closed_at": _iso(period.closed_at),
    }


def _renewal(card: Card) -> dict[str, Any] | None:
    rs = (RenewalSettings.objects.filter(card=card)
          .select_related("plan", "payment_method").first())
    if rs is None:
        return None
    return {
        "enabled": rs.enabled,
        "plan_code": rs.plan.code if rs.plan else None,
        "currency": rs.currency,
        "trigger_before_expiry_hours": rs.trigger_before_expiry_hours,
        "trigger_low_data_percent": rs.trigger_low_data_percent,
        "payment_method_id": str(rs.payment_method.public_id) if rs.payment_method else None,
        "disabled_reason": rs.disabled_reason,
        "changed_at": _iso(rs.changed_at),
    }


def _usage_by_day(card: Card, customer: User) -> list[dict[str, Any]]:
    """Bytes used per day (in the customer's time zone) since the customer added the card:
    totals from the ledger, not the network's raw records."""
    zone = customer.zone
    rows = LedgerEntry.objects.filter(card=card,
                                      kind__in=(LedgerKind.DEBIT_USAGE, LedgerKind.OVERAGE))
    if card.claimed_at is not None:
        rows = rows.filter(at__gte=card.claimed_at)
    rows = (rows.annotate(day=TruncDate("at", tzinfo=zone)).values("day")
            .annotate(used=Sum("bytes")).order_by("day"))
    return [{"date": row["day"].isoformat(), "used_bytes": -int(row["used"])} for row in rows]


def _cards(customer: User) -> list[dict[str, Any]]:
    cards = Card.objects.filter(owner=customer).order_by("claimed_at", "pk")
    return [{
        "id": str(card.public_id),
        "iccid": card.iccid,
        "msisdn": card.msisdn,
        "eid": card.eid,
        "label": card.label,
        "state": card.state,
        "added_at": _iso(card.claimed_at),
        "usage_updated_at": _iso(card.usage_updated_at),
        "overage_bytes": card.overage_bytes,
        "periods": [_period(p) for p in _customer_periods(card, customer)],
        "renewal": _renewal(card),
        "usage_by_day": _usage_by_day(card, customer),
    } for card in cards]


def _orders(customer: User) -> list[dict[str, Any]]:
    orders = (Order.objects.filter(customer=customer).select_related("card", "plan")
              .order_by("created_at", "pk"))
    return [{
        "id": str(order.public_id),
        "status": order.status,
        "plan_code": order.plan.code,
        "plan_name": order.plan_name,
        "card_iccid": order.card.iccid if order.card else None,
        "new_esim": order.new_esim,
        "currency": order.currency,
        "subtotal_minor": order.subtotal_minor,
        "discount_minor": order.discount_minor,
        "total_minor": order.total_minor,
        "coupon_code": order.coupon_code,
        "created_at": _iso(order.created_at),
        "paid_at": _iso(order.paid_at),
        "fulfilled_at": _iso(order.fulfilled_at),
    } for order in orders]


def _payments(customer: User) -> list[dict[str, Any]]:
    payments = (Payment.objects.filter(customer=customer).prefetch_related("refunds")
                .order_by("created_at", "pk"))
    return [{
        "id": str(payment.public_id),
        "for": payment.reference,
        "gateway": payment.gateway,
        "amount_minor": payment.amount_minor,
        "currency": payment.currency,
        "status": payment.status,
        "refunded_minor": payment.refunded_minor,
        "created_at": _iso(payment.created_at),
        "paid_at": _iso(payment.succeeded_at),
        "failure_code": payment.failure_code,
        "refunds": [{"id": str(refund.public_id), "amount_minor": refund.amount_minor,
                     "currency": payment.currency, "reason": refund.reason,
                     "refunded_at": _iso(refund.refunded_at)}
                    for refund in payment.refunds.all()],
    } for payment in payments]


def _refund_requests(customer: User) -> list[dict[str, Any]]:
    requests = (RefundRequest.objects.filter(customer=customer).select_related("order")
                .order_by("created_at", "pk"))
    return [{
        "id": str(r.public_id),
        "order_id": str(r.order.public_id),
        "cause": r.cause,
        "status": r.status,
        "reason": r.reason,
        "currency": r.currency,
        "paid_minor": r.paid_minor,
        "suggested_minor": r.suggested_minor,
        "refunded_minor": r.amount_minor,
        "requested_at": _iso(r.created_at),
        "decided_at": _iso(r.decided_at),
        "decision_note": r.decision_note,
        "refunded_at": _iso(r.refunded_at),
    } for r in requests]


def _saved_methods(customer: User) -> list[dict[str, Any]]:
    methods = SavedPaymentMethod.objects.filter(customer=customer).order_by("created_at", "pk")
    return [{"id": str(m.public_id), "gateway": m.gateway, "label": m.label,
             "saved_at": _iso(m.created_at), "removed_at": _iso(m.removed_at)}
            for m in methods]


def _notifications(customer: User) -> list[dict[str, Any]]:
    rows = (Notification.objects.filter(user=customer).order_by("queued_at", "pk")
            .values("kind", "status", "queued_at", "sent_at"))
    return [{"kind": row["kind"], "status": row["status"], "queued_at": _iso(row["queued_at"]),
             "sent_at": _iso(row["sent_at"])} for row in rows]


def _tokens(customer: User) -> list[dict[str, Any]]:
    tokens = PersonalAccessToken.objects.filter(user=customer).order_by("created_at", "pk")
    return [{"id": str(t.public_id), "name": t.name, "token": f"sdk_{t.prefix}_…",
             "created_at": _iso(t.created_at), "last_used_at": _iso(t.last_used_at),
             "revoked_at": _iso(t.revoked_at)} for t in tokens]


def _tickets_selector() -> Callable | None:
    """The support app's ``tickets_for_customer`` selector, once support provides it."""
    try:
        from simdesk.support.selectors import tickets_for_customer
    except ImportError:
        return None
    return tickets_for_customer


def _ticket(ticket) -> dict[str, Any]:
    return {
        "id": str(ticket.public_id),
        "subject": ticket.subject,
        "status": ticket.status,
        "card_iccid": ticket.card.iccid if ticket.card_id else None,
        "order_id": str(ticket.order.public_id) if ticket.order_id else None,
        "created_at": _iso(ticket.created_at),
        "last_message_at": _iso(ticket.last_message_at),
        "resolved_at": _iso(ticket.resolved_at),
        # Who in support wrote a reply is staff's business, not part of the customer's data.
        "messages": [{"from": "support" if message.from_staff else "you",
                      "body": message.body, "at": _iso(message.at)}
                     for message in ticket.messages.all()],
    }


def customer_support_tickets(*, customer: User) -> list[dict[str, Any]] | None:
    """The customer's support tickets with their conversations (support's own selector
    decides which are theirs), or None if the support app does not provide one."""
    selector = _tickets_selector()
    if selector is None:
        return None
    return [_ticket(ticket) for ticket in selector(customer=customer)]


def customer_data_export(*, customer: User, now: datetime) -> dict[str, Any]:
    """Everything simdesk holds about ``customer`` that is theirs to take away.

    Rows are found through their owner only, so nothing of another customer is
    included; secrets (password, token and gateway secrets, idempotency keys,
    pay-page addresses, MFA secrets) never are. Money is integer minor units with
    its currency; data is bytes; times are ISO 8601 in UTC. Usage is per card per
    day (the customer's time zone), not the network's raw records. A read: safe to
    call any number of times.
    """
    return {
        "format_version": FORMAT_VERSION,
        "generated_at": _iso(now),
        "profile": _profile(customer),
        "cards": _cards(customer),
        "orders": _orders(customer),
        "payments": _payments(customer),
        "refund_requests": _refund_requests(customer),
        "saved_payment_methods": _saved_methods(customer),
        "notifications": _notifications(customer),
        "api_tokens": _tokens(customer),
        "support_tickets": customer_support_tickets(customer=customer),
    }
