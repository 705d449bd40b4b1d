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

from django.db import connection, transaction
from django.db.models import Q

from simdesk.cards.models import Card
from simdesk.usage.services import UsageRecord, usage_rate

from ..models import CardLocation, RadiusSession

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


def _sessions_locked(keys: set[tuple[int, str]], placeholders: dict[tuple[int, str], dict],
                     ) -> dict[tuple[int, str], RadiusSession]:
    """The session rows for ``keys``, created where missing, locked for this transaction
    (in id order, so concurrent servers never deadlock on each other)."""

    def load(wanted):
        nas_ids = {nas for nas, _ in wanted}
        session_ids = {sid for _, sid in wanted}
        rows = (RadiusSession.objects.select_for_update()
                .filter(nas_id__in=nas_ids, session_id__in=session_ids).order_by("pk"))
        return {(row.nas_id, row.session_id): row for row in rows
                if (row.nas_id, row.session_id) in wanted}

    sessions = load(keys)
    missing = keys - sessions.keys()
    if missing:
        RadiusSession.objects.bulk_create(
            [RadiusSession(nas_id=nas, session_id=sid, **placeholders[(nas, sid)])
             for nas, sid in sorted(missing)],
            ignore_conflicts=True)  # a concurrent server may have created it a moment ago
        sessions.update(load(missing))
    return sessions


_UPDATE_FIELDS = ("generation", "card_id", "user_name", "nas_address", "bytes_in", "bytes_out",
                  "mcc_mnc", "started_at", "last_event_at", "stopped_at")


def _save_sessions(rows: list[RadiusSession]) -> None:
    """One executemany UPDATE: the ORM's bulk_update builds a CASE per field per row,
    which costs more than the rest of the batch."""
    if not rows:
        return
    ops = connection.ops
    table = connection.ops.quote_name(RadiusSession._meta.db_table)
    assignments = ", ".join(f"{ops.quote_name(f)} = %s" for f in _UPDATE_FIELDS)
    params = []
    for row in rows:
        values = []
        for name in _UPDATE_FIELDS:
            value = getattr(row, name)
            if isinstance(value, datetime):
                value = ops.adapt_datetimefield_value(value)
            values.append(value)
        params.append((*values, row.pk))
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE id = %s", params)  # noqa: S608


def _save_locations(seen: dict[int, dict]) -> None:
    """Move each card's "where it is" to what this batch saw (one upsert per shape)."""
    with_network = [CardLocation(card_id=card_id, **values) for card_id, values in seen.items()
                    if values.get("mcc_mnc")]
    without = [CardLocation(card_id=card_id, **values) for card_id, values in seen.items()
               if not values.get("mcc_mnc")]
    common = ["nas", "connected", "last_seen_at"]
    if with_network:
        CardLocation.objects.bulk_create(with_network, update_conflicts=True,
                                         unique_fields=["card"],
                                         update_fields=[*common, "mcc_mnc"])
    if without:
        CardLocation.objects.bulk_create(without, update_conflicts=True,
                                         unique_fields=["card"], update_fields=common)


def _restart_is_due(session: RadiusSession, event_at: datetime) -> bool:
    return session.stopped_at is not None and event_at > session.stopped_at


def _restart(session: RadiusSession, event_at: datetime) -> None:
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
    with transaction.atomic():
        cards = _cards_by_identity(events)
        placeholders: dict[tuple[int, str], dict] = {}
        for event in events:
            card_id = _card_for(event, cards)
            if event.session_id and card_id is not None:
                at = min(event.event_at or now, now)
                placeholders.setdefault((event.nas_id, event.session_id), {
                    "card_id": card_id, "nas_address": event.nas_address, "started_at": at,
                    "last_event_at": at, "user_name": event.identity.user_name[:253]})
        sessions = _sessions_locked(set(placeholders), placeholders) if placeholders else {}
        changed: dict[int, RadiusSession] = {}
        records: list[UsageRecord] = []
        seen: dict[int, dict] = {}
        for event in events:
            if event.status in (AcctStatus.ACCOUNTING_ON, AcctStatus.ACCOUNTING_OFF):
                _nas_reset(event, now)
                outcomes.append(Outcome.NAS_RESET)
                continue
            card_id = _card_for(event, cards)
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
            seen[card_id] = {
                "nas_id": event.nas_id, "connected": event.status != AcctStatus.STOP,
                "last_seen_at": now,
                "mcc_mnc": event.mcc_mnc or seen.get(card_id, {}).get("mcc_mnc", ""),
            }
        _save_sessions(list(changed.values()))
        _save_locations(seen)
        if records:
            usage_rate(records, source=USAGE_SOURCE, now=now)
    return outcomes


def _apply(session: RadiusSession, event: AccountingEvent, card_id: int, at: datetime,
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


def _nas_reset(event: AccountingEvent, now: datetime) -> None:
    """The NAS (re)started: none of its sessions is open any more."""
    open_sessions = RadiusSession.objects.filter(nas_id=event.nas_id, stopped_at__isnull=True)
    cards = list(open_sessions.values_list("card_id", flat=True))
    open_sessions.update(stopped_at=min(event.event_at or now, now))
    CardLocation.objects.filter(card_id__in=cards, nas_id=event.nas_id).update(connected=False)
