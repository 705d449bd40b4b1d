"""RADIUS accounting (RFC 2866) turned into usage, a batch of packets at a time.

Interim-Update and Stop carry counters that are cumulative for the session
(gigawords × 2^32 + octets). Each session row keeps the highest counters seen, and
usage is only the increase over them, so a retransmission or an interim update that
arrives late adds nothing. The increase goes to the rating as a usage record whose id
is derived from (NAS, session, generation, counters): the same packet can never be
rated twice, even if the rating saw it before.

Restart rule: the same Acct-Session-Id after its Stop begins a new generation,
counted from zero, when a Start or a packet whose counters went down arrives with an
event time later than the Stop's. Event time is Event-Timestamp, or the arrival time
less Acct-Delay-Time; a retransmission of an older packet therefore carries its
original time and is recognised as old, not as a restart.

Accounting-On / Accounting-Off (the NAS rebooted) stop every open session of that NAS.
"""

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cached_property

from django.db import transaction
from django.db.models import Q

from simdesk.cards.models import Card
from simdesk.usage.services import UsageRecord, usage_rate

from ..models import RadiusSession
from .session_store import SessionRow, sessions_create, sessions_lock, sessions_save

logger = logging.getLogger(__name__)

USAGE_SOURCE = "radius"


class AcctStatus(StrEnum):
    START = "start"
    INTERIM = "interim"
    STOP = "stop"
    ACCOUNTING_ON = "accounting-on"
    ACCOUNTING_OFF = "accounting-off"


class Outcome(StrEnum):
    COUNTED = "counted"  # usage went to the rating
    NOTHING_NEW = "nothing_new"  # a Start, or counters not above what was seen
    UNKNOWN_SUBSCRIBER = "unknown_subscriber"  # answered, nothing stored
    NAS_RESET = "nas_reset"  # Accounting-On/Off closed the NAS's sessions


@dataclass(frozen=True)
class Identity:
    """Who the packet is about, as the network names the subscriber."""

    user_name: str = ""  # often the IMSI, sometimes imsi@realm or the MSISDN
    calling_station_id: str = ""  # the MSISDN
    imsi: str = ""  # 3GPP-IMSI

    def candidates(self) -> list[tuple[str, str]]:
        """(field, value) pairs to look the card up by, most trusted first."""
        return self._candidates

    @cached_property
    def _candidates(self) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        imsi = _digits(self.imsi)
        if len(imsi) == 15:
            found.append(("imsi", imsi))
        user = _digits(self.user_name.split("@", 1)[0])
        if len(user) == 15:
            found.append(("imsi", user))
        msisdn = _digits(self.calling_station_id)
        if 8 <= len(msisdn) <= 15:
            found.append(("msisdn", msisdn))
        if 8 <= len(user) <= 15:
            found.append(("msisdn", user))
        return found

    def __str__(self) -> str:
        parts = [f"User-Name={self.user_name!r}" if self.user_name else "",
                 f"Calling-Station-Id={self.calling_station_id!r}"
                 if self.calling_station_id else "",
                 f"3GPP-IMSI={self.imsi!r}" if self.imsi else ""]
        return " ".join(p for p in parts if p) or "no identity"


def _digits(value: str) -> str:
    value = value.strip().removeprefix("+")
    return value if value.isdigit() else ""


@dataclass(frozen=True)
class AccountingEvent:
    """One Accounting-Request, decoded and checked (the NAS is known, the signature good)."""

    nas_id: int
    nas_address: str
    status: AcctStatus
    session_id: str = ""
    identity: Identity = Identity()
    bytes_in: int = 0  # cumulative for the session: what the card sent (upload)
    bytes_out: int = 0  # cumulative: what the card received (download)
    mcc_mnc: str = ""  # 3GPP-SGSN-MCC-MNC: the network the card is attached to
    event_at: datetime | None = None  # Event-Timestamp, or arrival less Acct-Delay-Time


def _record_id(event: AccountingEvent, generation: int) -> str:
    """Stable for one packet's counters: nas, generation, counters and the session id
    (hashed, as Acct-Session-Id may be up to 253 bytes)."""
    session = hashlib.sha256(event.session_id.encode()).hexdigest()[:20]
    return f"{event.nas_id}:{session}:{generation}:{event.bytes_in}:{event.bytes_out}"


def _cards_by_identity(events: Sequence[AccountingEvent]) -> dict[tuple[str, str], int]:
    imsis, msisdns = set(), set()
    for event in events:
        for field, value in event.identity.candidates():
            (imsis if field == "imsi" else msisdns).add(value)
    if not imsis and not msisdns:
        return {}
    found: dict[tuple[str, str], int] = {}
    rows = Card.objects.filter(Q(imsi__in=imsis) | Q(msisdn__in=msisdns)).values_list(
        "pk", "imsi", "msisdn")
    for pk, imsi, msisdn in rows:
        if imsi:
            found[("imsi", imsi)] = pk
        if msisdn:
            found[("msisdn", msisdn)] = pk
    return found


def _card_for(event: AccountingEvent, cards: dict[tuple[str, str], int]) -> int | None:
    for candidate in event.identity.candidates():
        if candidate in cards:
            return cards[candidate]
    return None


def _restart_is_due(session: SessionRow, event_at: datetime) -> bool:
    return session.stopped_at is not None and event_at > session.stopped_at


def _restart(session: SessionRow, event_at: datetime) -> None:
    session.generation += 1
    session.bytes_in = session.bytes_out = 0
    session.started_at = session.last_event_at = event_at
    session.stopped_at = None


def accounting_apply(*, events: Sequence[AccountingEvent], now: datetime) -> list[Outcome]:
    """Store a batch of accounting events and rate the usage they carry, in one
    transaction; returns what each event did, in order. Only once this returns may
    the Accounting-Responses go out (the usage is then committed).

    Safe to call again with any of the same events: counters not above those already
    seen add nothing, and the rating takes each record id once.
    """
    outcomes: list[Outcome] = []
    resets = (AcctStatus.ACCOUNTING_ON, AcctStatus.ACCOUNTING_OFF)
    with transaction.atomic():
        keys = [(e.nas_id, e.session_id) if e.session_id and e.status not in resets else None
                for e in events]
        sessions = sessions_lock({key for key in keys if key})
        # An open session knows its card; only new or stopped ones need the card looked
        # up by identity (a stopped one may be restarting for another subscriber).
        unsure = [e for e, key in zip(events, keys, strict=True)
                  if key and (key not in sessions or sessions[key].stopped_at is not None)]
        cards = _cards_by_identity(unsure)
        card_ids: list[int | None] = []
        placeholders: dict[tuple[int, str], dict] = {}
        for event, key in zip(events, keys, strict=True):
            session = sessions.get(key) if key else None
            if session is not None and session.stopped_at is None:
                card_ids.append(session.card_id)
                continue
            card_id = _card_for(event, cards) if key else None
            card_ids.append(card_id)
            if card_id is not None and session is None:
                at = min(event.event_at or now, now)
                placeholders.setdefault(key, {
                    "card_id": card_id, "nas_address": event.nas_address, "started_at": at,
                    "last_event_at": at, "user_name": event.identity.user_name[:253]})
        if placeholders:
            sessions.update(sessions_create(placeholders))
        changed: dict[int, SessionRow] = {}
        records: list[UsageRecord] = []
        for event, card_id in zip(events, card_ids, strict=True):
            if event.status in (AcctStatus.ACCOUNTING_ON, AcctStatus.ACCOUNTING_OFF):
                _nas_reset(event, now, sessions)
                outcomes.append(Outcome.NAS_RESET)
                continue
            session = sessions.get((event.nas_id, event.session_id))
            if card_id is None or session is None:
                logger.warning("RADIUS accounting for an unknown subscriber from NAS %s "
                               "(%s, session %r): answered, nothing counted",
                               event.nas_id, event.identity, event.session_id)
                outcomes.append(Outcome.UNKNOWN_SUBSCRIBER)
                continue
            at = min(event.event_at or now, now)
            outcome = _apply(session, event, card_id, at, records)
            changed[session.pk] = session
            outcomes.append(outcome)
        sessions_save(list(changed.values()))
        if records:
            usage_rate(records, source=USAGE_SOURCE, now=now)
    return outcomes


def _apply(session: SessionRow, event: AccountingEvent, card_id: int, at: datetime,
           records: list[UsageRecord]) -> Outcome:
    session.card_id = card_id
    session.nas_address = event.nas_address
    if event.identity.user_name:
        session.user_name = event.identity.user_name[:253]
    if event.mcc_mnc:
        session.mcc_mnc = event.mcc_mnc
    if event.status == AcctStatus.START:
        if _restart_is_due(session, at):
            _restart(session, at)
        session.last_event_at = max(session.last_event_at, at)
        return Outcome.NOTHING_NEW
    went_down = event.bytes_in < session.bytes_in or event.bytes_out < session.bytes_out
    if went_down and _restart_is_due(session, at):
        _restart(session, at)
    grew_in = max(0, event.bytes_in - session.bytes_in)
    grew_out = max(0, event.bytes_out - session.bytes_out)
    outcome = Outcome.NOTHING_NEW
    if grew_in or grew_out:
        records.append(UsageRecord(
            record_id=_record_id(event, session.generation), card_id=card_id,
            bytes_up=grew_in, bytes_down=grew_out,
            started_at=min(session.last_event_at, at), ended_at=at))
        session.bytes_in = max(session.bytes_in, event.bytes_in)
        session.bytes_out = max(session.bytes_out, event.bytes_out)
        outcome = Outcome.COUNTED
    session.last_event_at = max(session.last_event_at, at)
    if event.status == AcctStatus.STOP and session.stopped_at is None:
        session.stopped_at = at
    return outcome


def _nas_reset(event: AccountingEvent, now: datetime,
               sessions: dict[tuple[int, str], SessionRow]) -> None:
    """The NAS (re)started: none of its sessions is open any more (also the ones this
    batch holds, which are written back after it)."""
    at = min(event.event_at or now, now)
    RadiusSession.objects.filter(nas_id=event.nas_id, stopped_at__isnull=True).update(
        stopped_at=at)
    for session in sessions.values():
        if session.nas_id == event.nas_id and session.stopped_at is None:
            session.stopped_at = at
