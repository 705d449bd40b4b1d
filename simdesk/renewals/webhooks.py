"""What auto-renewal tells integrators through outgoing webhooks."""

from datetime import datetime

from simdesk.cards.webhooks import card_ref
from simdesk.integrations.models import EventType
from simdesk.integrations.services import event_emit, event_wanted

from .models import AttemptStatus, RenewalAttempt


def renewal_failed_emit(*, attempt: RenewalAttempt, plan, currency: str, amount_minor: int,
                        reason: str, now: datetime) -> None:
    """``renewal.failed``, once per declined charge (keyed by the attempt and its try).
    ``next_attempt_at`` is null and ``gave_up`` true after the last retry, when
    auto-renewal has been switched off."""
    if not event_wanted(EventType.RENEWAL_FAILED):
        return
    event_emit(
        type=EventType.RENEWAL_FAILED,
        dedupe_key=f"{EventType.RENEWAL_FAILED}:{attempt.public_id}:{attempt.attempt_count}",
        now=now,
        data={
            "renewal": str(attempt.public_id),
            **card_ref(attempt.card),
            "plan": plan.code,
            "currency": currency,
            "amount_minor": int(amount_minor),
            "order": str(attempt.order.public_id) if attempt.order_id else None,
            "reason": reason,
            "try": attempt.attempt_count,
            "next_attempt_at": (attempt.next_attempt_at.isoformat()
                                if attempt.next_attempt_at else None),
            "gave_up": attempt.status == AttemptStatus.GIVEN_UP,
        },
    )
