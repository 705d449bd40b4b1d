"""The customer's pause of a card: pause, resume, and the automatic end at the maximum.

The rules (DESIGN.md §2 "Pause"; tests in tests/cards/test_pause.py hold them):

- **Whose terms.** The card's current period (``card_pause_period``: the active base
  period that ends last) decides, by the terms it copied at sale (``pausable``,
  ``max_pause_days``): editing a plan never changes what a customer bought.
- **How long.** ``max_pause_days`` is the period's allowance in total, over any number
  of pauses. A pause is charged to the period that allowed it (``Card.pause_period``)
  and ends by itself when the allowance runs out (``Card.pause_until``); the clock
  sweep ends it then and the customer gets an e-mail.
- **While paused.** The card is ``paused``; the network is asked to suspend it (on
  RADIUS networks: a Disconnect-Request ends its open sessions) and its next
  Access-Requests are rejected. Its periods' clocks stand still: nothing expires
  (``periods_advance`` and the period sweep leave a paused card alone).
- **The end of a pause** at moment E — the customer's resume: now; the automatic end:
  ``pause_until`` itself, even when the sweep runs a little later, so a pause never
  exceeds the allowance. Every active period whose clock runs (``ends_at`` set) gets
  its end moved forward by E − max(paused_at, starts_at), the time its clock stood
  still: exactly the paused time for a period that was running when the pause began;
  less for one whose clock started during the pause (a first-use period started by
  usage, a queued period that took over when usage used up the one in front, a plan
  bought while paused). Queued periods and first-use periods not yet started have no
  end to move: they start when what is in front of them ends, which moved. Closed
  periods keep theirs. Each move leaves a period CardEvent naming the old and new end.
  An ``extend`` plan bought while paused adds its days from where the period's clock
  stopped, not from now (``periods._clock_now``), so the move above stays exact.
- **Usage reported for a paused card** (a session open until the disconnect took
  effect, a record that arrives late) happened, so it is debited like any usage,
  exactly once, from the active periods (usage rating sends a paused card through
  ``card_debit_usage``). It never ends the pause. If it uses a period up, the next
  queued one starts at that moment and its clock stands still until the pause ends
  (the rule above); it may also start a first-use period's clock, likewise.
- **Staff suspension wins.** A suspended card cannot be paused or resumed by the
  customer. Staff may suspend a paused card: the pause goes on underneath
  (``paused_at`` stays set, the clocks stay stopped, ``pause_until`` still applies).
  When staff lift the suspension (``card_resume``) the card is paused again if its
  pause still runs, else active or inactive. A pause that ends while the card is
  suspended moves the ends as above and leaves the card suspended.
- Every change leaves CardEvent rows (state moves with the acting customer); the
  ledger is not touched: a pause changes validity, never data.
"""

from datetime import datetime

from django.db import transaction
from django.urls import reverse

from ..models import Card, CardEvent, CardState, NetworkActionKind, Period, PeriodState
from ..selectors import (
    card_pause_period,
    card_pause_refusal,
    card_resume_refusal,
    period_pause_left,
)
from .ledger import card_lock
from .periods import _advance
from .state import card_sync_state


def card_pause(*, card: Card, acting_user, now: datetime) -> Card:
    """Pause ``card`` for its customer (``acting_user``) from ``now`` until they resume it
    or the current period's pause allowance runs out.

    Refused with Conflict (nothing changes) on a plan that cannot be paused, an
    allowance used up, a card with no active plan, a suspended or terminated card —
    and on a card already paused, so a second call is refused, never a second pause.
    """
    from ..network.services import network_request

    with transaction.atomic():
        card = card_lock(card)
        now = _not_before_last_change(card, now)
        if card.paused_at is None and card.state not in (CardState.SUSPENDED,
                                                         CardState.TERMINATED):
            _advance(card, now)  # what ended before the pause is over first
            card_sync_state(card=card, at=now)
        period = card_pause_period(card=card)
        refusal = card_pause_refusal(card=card, period=period)
        if refusal is not None:
            raise refusal
        card.paused_at = now
        card.pause_until = now + period_pause_left(period=period)
        card.pause_period = period
        card.save(update_fields=["paused_at", "pause_until", "pause_period", "updated_at"])
        card.transition(CardState.PAUSED, at=now, actor=acting_user,
                        reason="paused by the customer")
        network_request(card=card, action=NetworkActionKind.SUSPEND,
                        reason="paused by the customer", now=now)
        return card


def card_unpause(*, card: Card, acting_user, now: datetime) -> Card:
    """End the customer's pause of ``card`` now: the periods' ends move forward by the
    time their clocks stood still, the card is active again (inactive if nothing is
    left) and the network is asked to let it carry traffic.

    (The staff's ``card_resume`` lifts a suspension; this is the customer's resume.)
    Refused with Conflict on a card that is not paused — so a second call is refused,
    changing nothing — and on a suspended or terminated card.
    """
    with transaction.atomic():
        card = card_lock(card)
        now = _not_before_last_change(card, now)
        refusal = card_resume_refusal(card=card)
        if refusal is not None:
            raise refusal
        _pause_end(card, end=min(now, card.pause_until or now), now=now, actor=acting_user,
                   reason="resumed by the customer")
        return card


def card_pause_expire(*, card: Card, now: datetime) -> bool:
    """End the pause of ``card`` at its maximum (``pause_until``) if that moment has come,
    and e-mail the customer that the card carries data again (or, when staff suspended
    it meanwhile, that the pause is over). Whatever the card's state.

    Safe to call any number of times, from any number of workers: under the card lock
    a pause already ended, or not yet due, is left alone (returns False), and the
    e-mail is queued once per pause.
    """
    with transaction.atomic():
        card = card_lock(card)
        if card.paused_at is None or card.pause_until is None or card.pause_until > now:
            return False
        paused_at, end = card.paused_at, card.pause_until
        _pause_end(card, end=end, now=now, actor=None, reason="pause maximum reached")
        if card.owner_id is not None:
            _notify_pause_ended(card, paused_at=paused_at, end=end, now=now)
        return True


def _not_before_last_change(card: Card, now: datetime) -> datetime:
    """``now``, or the card's last state change if that is later.

    A request reads the time before it waits for the card lock; meanwhile another one
    may have paused or resumed the card at a later moment. Pausing or resuming at the
    earlier time would end a pause before it began (a negative charge to the allowance)
    or start one inside a pause already charged; both happen at the later moment instead.
    """
    changed = card.state_changed_at
    return changed if changed is not None and changed > now else now


def _pause_end(card: Card, *, end: datetime, now: datetime, actor, reason: str) -> None:
    """End the running pause at ``end`` (≤ now) for a card locked by the caller."""
    from ..network.services import network_request

    paused_at = card.paused_at
    for period in card.periods.filter(state=PeriodState.ACTIVE, ends_at__isnull=False):
        stood_still = end - max(paused_at, period.starts_at or paused_at)
        if stood_still.total_seconds() <= 0:
            continue  # its clock started after the pause ended
        before = period.ends_at
        period.ends_at = before + stood_still
        period.save(update_fields=["ends_at", "updated_at"])
        CardEvent.objects.create(
            card=card, period=period, kind=CardEvent.Kind.PERIOD, from_state=period.state,
            to_state=period.state, at=now, actor=actor,
            note=f"pause: end moved by {stood_still.total_seconds():g} s, "
                 f"{before.isoformat()} -> {period.ends_at.isoformat()}")
    charged = int((end - paused_at).total_seconds())
    if card.pause_period_id is not None:
        period = Period.objects.get(pk=card.pause_period_id)
        allowance = period.max_pause_days * 86400
        period.paused_seconds = min(allowance, period.paused_seconds + charged)
        period.save(update_fields=["paused_seconds", "updated_at"])
    card.paused_at = card.pause_until = card.pause_period = None
    card.save(update_fields=["paused_at", "pause_until", "pause_period", "updated_at"])
    if card.state == CardState.PAUSED:
        has_active = card.periods.filter(state=PeriodState.ACTIVE).exists()
        card.transition(CardState.ACTIVE if has_active else CardState.INACTIVE, at=now,
                        actor=actor, reason=reason)
        network_request(card=card, action=NetworkActionKind.RESUME, reason=reason, now=now)
    else:
        # Suspended (or terminated) meanwhile: the state stays, the history says why.
        CardEvent.objects.create(card=card, kind=CardEvent.Kind.STATE, from_state=card.state,
                                 to_state=card.state, at=now, actor=actor,
                                 note=f"customer pause ended ({reason}), still {card.state}")
    _advance(card, now)
    card_sync_state(card=card, at=now)


def _notify_pause_ended(card: Card, *, paused_at: datetime, end: datetime,
                        now: datetime) -> None:
    from simdesk.notifications.messages import notify_pause_ended

    ends = [p.ends_at for p in card.periods.filter(state=PeriodState.ACTIVE,
                                                   ends_at__isnull=False)]
    notify_pause_ended(
        user=card.owner,
        pause={
            "card_iccid": card.iccid, "card_label": card.label,
            "paused_at": paused_at.isoformat(), "ended_at": end.isoformat(),
            "paused_seconds": int((end - paused_at).total_seconds()),
            "valid_until": max(ends).isoformat() if ends else None,
            "suspended": card.state == CardState.SUSPENDED,
            "card_url": reverse("portal:card_detail", kwargs={"public_id": card.public_id}),
        },
        dedupe_key=f"pause-ended:{card.public_id}:{paused_at.isoformat()}", now=now)

