"""Keeping a card's derived state in step with its periods."""

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import Conflict
from simdesk.integrations.models import EventType

from ..models import CARD_DERIVED_STATES, Card, CardState, NetworkActionKind, PeriodState
from ..webhooks import card_event_emit
from .ledger import card_lock


def card_sync_state(*, card: Card, at: datetime) -> None:
    """``active`` when the card has an active period, ``inactive`` otherwise.

    Paused, suspended and terminated are decisions of people and are left alone.
    Safe to call any number of times.
    """
    if card.state not in CARD_DERIVED_STATES:
        return
    has_active = card.periods.filter(state=PeriodState.ACTIVE).exists()
    wanted = CardState.ACTIVE if has_active else CardState.INACTIVE
    if card.state != wanted:
        card.transition(wanted, at=at, reason="periods")


def card_suspend(*, card: Card, reason: str, now: datetime, actor=None) -> Card:
    """Suspend ``card`` (a decision of staff or the operator's systems): it stops using
    data until resumed, and the network is asked to suspend it after commit. A
    terminated card cannot be suspended. Safe to call twice (a suspended card stays as
    it is and the network is not asked again). A customer's pause goes on underneath
    (cards/services/pause.py)."""
    from ..network.services import network_request

    with transaction.atomic():
        card = card_lock(card)
        if card.state == CardState.SUSPENDED:
            return card
        if card.state == CardState.TERMINATED:
            raise Conflict(_("This card is terminated; it cannot be suspended."),
                           code="card_terminated")
        card.suspend(at=now, actor=actor, reason=reason[:200])
        network_request(card=card, action=NetworkActionKind.SUSPEND, reason=reason, now=now)
        card_event_emit(type=EventType.CARD_SUSPENDED, card=card, at=now, now=now,
                        reason=reason[:200])
    return card


def card_resume(*, card: Card, reason: str, now: datetime, actor=None) -> Card:
    """Lift a suspension: the card becomes active again if it has an active period, or
    inactive otherwise, and the network is asked to resume it after commit. Only a
    suspended card can be resumed. Safe to call twice (a card no longer suspended is
    left as it is).

    A card the customer had paused before the suspension, whose pause is still
    running (``paused_at`` set), goes back to paused instead: the network is not
    asked to resume, and the pause ends as any pause does (cards/services/pause.py)."""
    from ..network.services import network_request

    with transaction.atomic():
        card = card_lock(card)
        if card.state != CardState.SUSPENDED:
            if card.state == CardState.TERMINATED:
                raise Conflict(_("This card is terminated; it cannot be resumed."),
                               code="card_terminated")
            return card
        if card.paused_at is not None:
            card.transition(CardState.PAUSED, at=now, actor=actor, reason=reason[:200])
        else:
            has_active = card.periods.filter(state=PeriodState.ACTIVE).exists()
            card.transition(CardState.ACTIVE if has_active else CardState.INACTIVE, at=now,
                            actor=actor, reason=reason[:200])
            network_request(card=card, action=NetworkActionKind.RESUME, reason=reason,
                            now=now)
        card_event_emit(type=EventType.CARD_RESUMED, card=card, at=now, now=now,
                        reason=reason[:200])
    return card
