"""The customer's cards: list, detail with balance, periods, usage by day, claim.

Ownership is decided only by ``card_get_for_customer``: another customer's card,
an unknown id and a malformed id all answer 404.
"""

import uuid
from datetime import date, datetime

from django.utils.translation import get_language
from ninja import Field, Query, Schema

from simdesk.cards.models import Card, CardState, Period, PeriodState
from simdesk.cards.selectors import (
    card_balance,
    card_get_for_customer,
    card_usage_by_day,
    cards_for_customer,
)
from simdesk.cards.services.claim import card_claim
from simdesk.core.clock import utcnow
from simdesk.radius.selectors import card_whereabouts

from ..auth import customer_auth
from ..errors import problem_responses
from ..pagination import CursorParams, Page, paginate
from . import router

TAGS = ["cards"]


class QueuedOut(Schema):
    id: uuid.UUID
    plan_code: str
    name: str
    total_bytes: int | None = Field(description="Null for an unlimited plan.")
    validity_days: int


class BalanceOut(Schema):
    state: str
    remaining_bytes: int = Field(description="Left across active limited periods, in bytes.")
    total_bytes: int = Field(description="Bought across active limited periods, in bytes.")
    unlimited: bool
    valid_until: datetime | None = Field(
        description="End of the longest-running started period; null when nothing has "
                    "started or the clock starts at first use.")
    waiting_for_first_use: bool
    usage_updated_at: datetime | None = Field(
        description="When the network last reported usage; the balance is exact up to then.")
    overage_bytes: int
    queued_count: int
    next_queued: QueuedOut | None


class CardOut(Schema):
    id: uuid.UUID
    iccid: str
    label: str
    state: str
    claimed_at: datetime | None


class NetworkOut(Schema):
    connected: bool = Field(description="False once the card's last session ended.")
    mcc_mnc: str = Field(description="The visited network's MCC and MNC, e.g. 23415.")
    operator: str = Field(description="The network's name, or its MCC/MNC when unknown.")
    country_code: str = Field(description="ISO 3166 code; empty when unknown.")
    country: str = Field(description="The country in the caller's language.")
    last_seen_at: datetime


class CardDetailOut(CardOut):
    msisdn: str
    balance: BalanceOut
    network: NetworkOut | None = Field(
        description="Where the mobile network last saw the card (RADIUS accounting); "
                    "null until it reports the card.")


class CardPeriodOut(Schema):
    id: uuid.UUID
    plan_code: str
    name: str
    kind: str
    state: str
    unlimited: bool
    total_bytes: int | None
    remaining_bytes: int | None
    used_bytes: int
    validity_days: int
    starts_at: datetime | None
    ends_at: datetime | None
    closed_at: datetime | None
    created_at: datetime


class CardUsageDayOut(Schema):
    day: date = Field(description="A day in the customer's time zone.")
    used_bytes: int


class CardUsageOut(Schema):
    time_zone: str
    days: list[CardUsageDayOut]


class CardFilters(Schema):
    state: CardState | None = Field(None, description="Only cards in this state.")


class PeriodFilters(Schema):
    state: PeriodState | None = Field(None, description="Only periods in this state.")


class UsageParams(Schema):
    days: int = Field(30, ge=1, le=90, description="How many days up to today (1–90).")


class ClaimIn(Schema):
    iccid: str = Field(max_length=32, description="The card's ICCID as printed.")
    claim_code: str = Field(max_length=64, description="The claim code printed on the card.")


def _card_out(card: Card) -> dict:
    return {"id": card.public_id, "iccid": card.iccid, "label": card.label,
            "state": card.state, "claimed_at": card.claimed_at}


def _balance_out(card: Card, now: datetime) -> dict:
    balance = card_balance(card=card, now=now)
    queued = balance.next_queued
    return {
        "state": balance.state,
        "remaining_bytes": balance.remaining_bytes,
        "total_bytes": balance.total_bytes,
        "unlimited": balance.unlimited,
        "valid_until": balance.valid_until,
        "waiting_for_first_use": balance.waiting_for_first_use,
        "usage_updated_at": balance.usage_updated_at,
        "overage_bytes": balance.overage_bytes,
        "queued_count": balance.queued_count,
        "next_queued": None if queued is None else {
            "id": queued.public_id, "plan_code": queued.plan_code,
            "name": queued.name_for(get_language()), "total_bytes": queued.total_bytes,
            "validity_days": queued.validity_days},
    }


def _network_out(card: Card) -> dict | None:
    seen = card_whereabouts(card=card)
    if seen is None:
        return None
    network = seen.network
    return {"connected": seen.connected, "last_seen_at": seen.last_seen_at,
            "mcc_mnc": network.code if network else "",
            "operator": network.operator if network else "",
            "country_code": network.country_code if network else "",
            "country": network.country if network else ""}


def _detail_out(card: Card, now: datetime) -> dict:
    return {**_card_out(card), "msisdn": card.msisdn, "balance": _balance_out(card, now),
            "network": _network_out(card)}


def _period_out(period: Period) -> dict:
    fields = ("plan_code", "kind", "state", "unlimited", "total_bytes", "remaining_bytes",
              "used_bytes", "validity_days", "starts_at", "ends_at", "closed_at", "created_at")
    return {"id": period.public_id, "name": period.name_for(get_language()),
            **{name: getattr(period, name) for name in fields}}


@router.get("/cards", response={200: Page[CardOut], **problem_responses(400, 401, 429)},
            auth=customer_auth, tags=TAGS,
            summary="Your cards, newest first")
def cards_list(request, filters: Query[CardFilters], page: Query[CursorParams]):
    cards = cards_for_customer(customer=request.auth)
    if filters.state:
        cards = cards.filter(state=filters.state)
    result = paginate(cards, params=page, key="created_at", descending=True)
    return {"items": [_card_out(card) for card in result["items"]],
            "next_cursor": result["next_cursor"]}


@router.post("/cards/claim", response={200: CardDetailOut, **problem_responses(400, 401, 403, 429)},
             auth=customer_auth, tags=TAGS,
             summary="Add a card to your account with its ICCID and claim code")
def cards_claim(request, payload: ClaimIn):
    """An unknown ICCID and a wrong claim code get the same answer (400 ``claim_refused``);
    attempts are limited per customer and address (429). Claiming your own card again
    returns it."""
    now = utcnow()
    card = card_claim(customer=request.auth, iccid=payload.iccid,
                      claim_code=payload.claim_code, now=now,
                      ip=request.META.get("REMOTE_ADDR"))
    return _detail_out(card, now)


@router.get("/cards/{card_id}", response={200: CardDetailOut, **problem_responses(401, 404, 429)},
            auth=customer_auth, tags=TAGS,
            summary="One card with its balance")
def cards_detail(request, card_id: str):
    card = card_get_for_customer(customer=request.auth, card_public_id=card_id,
                                 with_balance=True)
    return _detail_out(card, utcnow())


@router.get("/cards/{card_id}/periods",
            response={200: Page[CardPeriodOut], **problem_responses(400, 401, 404, 429)},
            auth=customer_auth, tags=TAGS, summary="The card's plan periods, newest first")
def cards_periods(request, card_id: str, filters: Query[PeriodFilters],
                  page: Query[CursorParams]):
    card = card_get_for_customer(customer=request.auth, card_public_id=card_id)
    periods = card.periods.all()
    if filters.state:
        periods = periods.filter(state=filters.state)
    result = paginate(periods, params=page, key="created_at", descending=True)
    return {"items": [_period_out(period) for period in result["items"]],
            "next_cursor": result["next_cursor"]}


@router.get("/cards/{card_id}/usage",
            response={200: CardUsageOut, **problem_responses(400, 401, 404, 429)},
            auth=customer_auth, tags=TAGS,
            summary="Data used per day in your time zone")
def cards_usage(request, card_id: str, params: Query[UsageParams]):
    card = card_get_for_customer(customer=request.auth, card_public_id=card_id)
    zone = request.auth.zone
    days = card_usage_by_day(card=card, now=utcnow(), tz=zone, days=params.days)
    return {"time_zone": str(zone),
            "days": [{"day": day, "used_bytes": used} for day, used in days]}


@router.get("/cards/{card_id}/balance",
            response={200: BalanceOut, **problem_responses(401, 404, 429)},
            auth=customer_auth, tags=TAGS,
            summary="What is left on the card now",
            description="Exact up to `usage_updated_at`, the last time the network reported "
                        "usage.")
def cards_balance(request, card_id: str):
    card = card_get_for_customer(customer=request.auth, card_public_id=card_id,
                                 with_balance=True)
    return _balance_out(card, utcnow())
