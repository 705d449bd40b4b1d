"""Keeping a card's derived state in step with its periods."""

from datetime import datetime

from ..models import CARD_DERIVED_STATES, Card, CardState, PeriodState


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
