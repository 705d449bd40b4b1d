"""Telling the customer before a scheduled renewal charge."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from simdesk.cards.models import Card, Period
from simdesk.notifications.messages import notify_renewal_reminder

from ..models import AttemptStatus, RenewalAttempt, RenewalSettings
from ..selectors import renewal_charge_at, renewal_current_period, renewal_reminder_hours
from .common import renewal_currency, renewal_summary


def _attempt_for(card: Card, period: Period, charge_at: datetime) -> RenewalAttempt:
    key = RenewalAttempt.key_for(card=card, period=period)
    try:
        with transaction.atomic():
            attempt, _created = RenewalAttempt.objects.get_or_create(
                idempotency_key=key,
                defaults={"card": card, "period": period, "next_attempt_at": charge_at,
                          "status": AttemptStatus.SCHEDULED})
    except IntegrityError:
        attempt = RenewalAttempt.objects.get(idempotency_key=key)
    return attempt


def renewal_remind(*, card: Card, now: datetime) -> bool:
    """Send the reminder for the card's next before-expiry charge, at most once per
    period; True if this call queued it.

    The reminder is recorded on the period's (scheduled) attempt by a conditional
    update, so two workers reminding the same card send one e-mail. Safe to call twice.
    """
    rs = RenewalSettings.objects.filter(card=card, enabled=True).select_related(
        "card__owner", "plan").first()
    period = renewal_current_period(card=card) if rs else None
    charge_at = renewal_charge_at(rs=rs, period=period) if period else None
    # Only within RENEWAL_REMINDER_HOURS before the charge, never after it.
    ahead = timedelta(hours=renewal_reminder_hours())
    if charge_at is None or not (charge_at - ahead <= now < charge_at):
        return False
    attempt = _attempt_for(card, period, charge_at)
    with transaction.atomic():
        claimed = RenewalAttempt.objects.filter(
            pk=attempt.pk, reminder_sent_at__isnull=True, status=AttemptStatus.SCHEDULED,
        ).update(reminder_sent_at=now)
        if not claimed:
            return False
        plan = rs.plan or period.plan
        currency = renewal_currency(rs=rs)
        price = plan.price_in(currency)
        summary = renewal_summary(card=card, plan=plan, currency=currency,
                                  amount_minor=price.amount_minor if price else 0)
        notify_renewal_reminder(user=card.owner, renewal=summary, charge_at=charge_at,
                                dedupe_key=f"{attempt.idempotency_key}:reminder", now=now)
    return True
