"""Pausing a card and resuming it, for its customer (the rules: cards/services/pause.py).

Ownership comes from ``card_get_for_customer`` (another customer's card is 404); every
refusal (a plan that cannot be paused, the allowance used up, a suspended card, already
paused, not paused) is a 409 problem with a stable ``code``, from the same services the
portal calls.
"""

import uuid
from datetime import datetime

from ninja import Field, Schema

from simdesk.cards.selectors import card_get_for_customer, card_pause_status
from simdesk.cards.services import card_pause, card_unpause
from simdesk.core.clock import utcnow

from ..auth import customer_auth
from ..errors import problem_responses
from . import router

TAGS = ["cards"]
REFUSALS = problem_responses(401, 403, 404, 409, 429)


class PauseOut(Schema):
    card: uuid.UUID
    state: str
    paused_at: datetime | None = Field(description="When the running pause began; null when "
                                                   "the card is not paused.")
    resumes_at: datetime | None = Field(
        description="When the running pause ends by itself: the plan's maximum is reached.")
    max_pause_days: int = Field(description="The pause the plan allows, in days, in total.")
    pause_left_seconds: int = Field(
        description="What is left of that allowance, not counting a running pause.")
    can_pause: bool
    can_resume: bool
    refusal: str = Field(description="Why the card cannot be paused (or, while paused, "
                                     "resumed) now, in the caller's language; empty when it "
                                     "can.")


def _pause_out(card, now: datetime) -> dict:
    status = card_pause_status(card=card, now=now)
    return {"card": card.public_id, "state": card.state, "paused_at": status.paused_at,
            "resumes_at": status.pause_until, "max_pause_days": status.max_pause_days,
            "pause_left_seconds": int(status.pause_left.total_seconds()),
            "can_pause": status.can_pause, "can_resume": status.can_resume,
            "refusal": status.refusal}


@router.get("/cards/{card_id}/pause", response={200: PauseOut, **problem_responses(401, 404, 429)},
            auth=customer_auth, tags=TAGS, summary="Whether the card can be paused, and for how "
                                                   "long")
def cards_pause_status(request, card_id: str):
    card = card_get_for_customer(customer=request.auth, card_public_id=card_id)
    return _pause_out(card, utcnow())


@router.post("/cards/{card_id}/pause", response={200: PauseOut, **REFUSALS},
             auth=customer_auth, tags=TAGS, summary="Pause a card",
             description="The card stops carrying data and its plan's validity clock stops, "
                         "until you resume it or the plan's maximum pause is reached; the "
                         "paused time is added to the end of the plan. 409 when the plan "
                         "cannot be paused (`not_pausable`), its pause is used up "
                         "(`pause_used_up`), the card is already paused (`already_paused`), "
                         "has no active plan (`no_active_plan`) or is suspended "
                         "(`card_suspended`).")
def cards_pause(request, card_id: str):
    card = card_get_for_customer(customer=request.auth, card_public_id=card_id)
    now = utcnow()
    card = card_pause(card=card, acting_user=request.auth, now=now)
    return _pause_out(card, now)


@router.post("/cards/{card_id}/resume", response={200: PauseOut, **REFUSALS},
             auth=customer_auth, tags=TAGS, summary="Resume a paused card",
             description="The card carries data again and the end of each running plan "
                         "period moves forward by the paused time. 409 when the card is not "
                         "paused (`not_paused`) or is suspended (`card_suspended`).")
def cards_resume(request, card_id: str):
    card = card_get_for_customer(customer=request.auth, card_public_id=card_id)
    now = utcnow()
    card = card_unpause(card=card, acting_user=request.auth, now=now)
    return _pause_out(card, now)
