"""The UDP side of ``simdesk radius``: accounting (1813) and authorization (1812).

One thread, batches: the accounting socket is drained of up to ``batch_size`` waiting
packets (waiting ``batch_wait`` seconds more for stragglers when fewer came), the
batch is stored and rated in one transaction, and only after the commit are the
Accounting-Responses sent. Throughput therefore does not depend on one commit per
packet, and no packet is answered before its usage is durable. Under load the batch
grows by itself: packets queue in the socket while the previous batch commits.

Accounting packets are read by ``wire.py`` (a few attributes as raw bytes, a fifth of
pyrad's cost); Access-Requests by pyrad. Packets from an address that is not an active
NAS, and accounting packets whose
Request Authenticator does not match the NAS's secret, are dropped without an
answer (RFC 2866). Access-Requests must carry a valid Message-Authenticator
(RFC 3579, the BlastRADIUS counter-measure) unless ``require_message_authenticator``
is switched off; without one a wrong secret could not be told from a right one.

A retransmission of a packet already answered (same source, same bytes) within
``DUPLICATE_WINDOW`` is answered again from a cache without touching the database;
one that comes later is processed again and adds nothing (its counters are not
above the session's).
"""

import errno
import logging
import select
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import DatabaseError, close_old_connections, connection
from pyrad import packet
from pyrad.packet import PacketError

from simdesk.cards.network.radius.client import radius_dictionary
from simdesk.core.clock import utcnow

from .networks import mcc_mnc_clean
from .selectors import NasDirectory, card_authorization, nas_directory
from .services.accounting import (
    AccountingEvent,
    AcctStatus,
    Identity,
    Outcome,
    accounting_apply,
)
from .wire import PROXY_STATE, BrokenPacket, accounting_request_read, accounting_response

logger = logging.getLogger(__name__)

DUPLICATE_WINDOW = 30.0  # seconds a reply is kept for retransmissions
DUPLICATE_CACHE_SIZE = 200_000

STATUS = {1: AcctStatus.START, 2: AcctStatus.STOP, 3: AcctStatus.INTERIM,
          7: AcctStatus.ACCOUNTING_ON, 8: AcctStatus.ACCOUNTING_OFF}

# Attribute codes read straight from the decoded packet (raw values, no dictionary).
USER_NAME, CALLING_STATION_ID, ACCT_STATUS_TYPE, ACCT_DELAY_TIME = 1, 31, 40, 41
ACCT_INPUT_OCTETS, ACCT_OUTPUT_OCTETS, ACCT_SESSION_ID = 42, 43, 44
ACCT_INPUT_GIGAWORDS, ACCT_OUTPUT_GIGAWORDS, EVENT_TIMESTAMP = 52, 53, 55
TGPP_IMSI, TGPP_SGSN_MCC_MNC = (10415, 1), (10415, 18)


def _text(attributes, key) -> str:
    values = attributes.get(key)
    return values[0].decode("utf-8", "replace") if values else ""


def _integer(attributes, key) -> int:
    values = attributes.get(key)
    if not values or len(values[0]) != 4:
        return 0
    return int.from_bytes(values[0], "big")


@dataclass
class Stats:
    received: int = 0
    answered: int = 0
    dropped: int = 0
    batches: int = 0
    duplicates: int = 0
    unknown_subscribers: int = 0
    decode_seconds: float = 0.0  # parsing and checking accounting packets
    store_seconds: float = 0.0  # their transactions, commit included


class RadiusServer:
    """Owns the sockets; ``serve(stop)`` runs until ``stop`` (a threading.Event) is set.

    Workers of one ``simdesk radius --workers N`` share its sockets: whichever worker
    is reading takes the next packets, so a single busy NAS is spread over all of
    them. ``reuse_port`` (SO_REUSEPORT) lets separate commands bind the same ports;
    the kernel then spreads packets by source address and port, which few NASes
    spread unevenly.
    """

    def __init__(self, *, host: str = "0.0.0.0", acct_port: int = 1813,  # noqa: S104
                 auth_port: int | None = 1812, batch_size: int = 1024,
                 batch_wait: float = 0.002, reuse_port: bool = False,
                 nas_refresh: float = 10.0, require_message_authenticator: bool = True,
                 sockets: tuple[socket.socket, socket.socket | None] | None = None):
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.nas_refresh = nas_refresh
        self.require_message_authenticator = require_message_authenticator
        self.dictionary = radius_dictionary()
        self.stats = Stats()
        self._nas: NasDirectory | None = None
        self._nas_loaded = 0.0
        self._replies: OrderedDict[tuple, tuple[float, bytes]] = OrderedDict()
        if sockets is not None:  # a worker sharing its parent's sockets
            self.acct, self.auth = sockets
            return
        self.acct = self._bind(host, acct_port, reuse_port)
        self.auth = self._bind(host, auth_port, reuse_port) if auth_port is not None else None

    @staticmethod
    def _bind(host: str, port: int, reuse_port: bool) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        sock.bind((host, port))
        sock.setblocking(False)
        return sock

    @property
    def acct_port(self) -> int:
        return self.acct.getsockname()[1]

    @property
    def auth_port(self) -> int | None:
        return self.auth.getsockname()[1] if self.auth else None

    def close(self) -> None:
        for sock in (self.acct, self.auth):
            if sock is not None:
                sock.close()

    # --- main loop -------------------------------------------------------------------

    def serve(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        poller = select.poll()
        poller.register(self.acct, select.POLLIN)
        if self.auth is not None:
            poller.register(self.auth, select.POLLIN)
        acct_fd = self.acct.fileno()
        try:
            while not stop.is_set():
                ready = poller.poll(200)
                for fd, _event in ready:
                    try:
                        if fd == acct_fd:
                            self._accounting_batch()
                        else:
                            self._authorization_batch()
                    except DatabaseError:
                        # E.g. the database restarting while the NAS list is reloaded:
                        # the batch is not answered (the NAS sends it again), the server
                        # goes on with a new connection instead of exiting.
                        logger.exception("RADIUS: database error; batch not answered")
                        connection.close()
                        stop.wait(0.5)
        finally:
            connection.close()

    def _directory(self, *, unknown_source: bool = False) -> NasDirectory:
        age = time.monotonic() - self._nas_loaded
        if self._nas is None or age > self.nas_refresh or (unknown_source and age > 1.0):
            close_old_connections()
            self._nas = nas_directory()
            self._nas_loaded = time.monotonic()
        return self._nas

    def _nas_for(self, source: tuple):
        nas = self._directory().find(source[0])
        if nas is None:
            nas = self._directory(unknown_source=True).find(source[0])
        return nas

    def _drain(self, sock: socket.socket) -> list[tuple[bytes, tuple]]:
        """Up to ``batch_size`` packets: all that are waiting, then stragglers for at
        most ``batch_wait`` seconds."""
        datagrams: list[tuple[bytes, tuple]] = []
        deadline = None
        while len(datagrams) < self.batch_size:
            try:
                datagrams.append(sock.recvfrom(8192))
                continue
            except BlockingIOError:
                pass
            except OSError as error:  # e.g. ICMP port unreachable reported on a send
                if error.errno in (errno.ECONNREFUSED, errno.EAGAIN):
                    continue
                raise
            if self.batch_wait <= 0:
                break
            now = time.monotonic()
            deadline = deadline or now + self.batch_wait
            if now >= deadline or not select.select([sock], [], [], deadline - now)[0]:
                break
        return datagrams

    def _send(self, sock: socket.socket, data: bytes, address: tuple) -> None:
        try:
            sock.sendto(data, address)
            self.stats.answered += 1
        except OSError as error:
            logger.warning("RADIUS reply to %s not sent: %s", address, error)

    def _cached_reply(self, source: tuple, data: bytes) -> bytes | None:
        cached = self._replies.get((source, data))
        if cached is not None and time.monotonic() - cached[0] < DUPLICATE_WINDOW:
            return cached[1]
        return None

    def _remember(self, source: tuple, data: bytes, reply: bytes) -> None:
        self._replies[(source, data)] = (time.monotonic(), reply)
        while len(self._replies) > DUPLICATE_CACHE_SIZE:
            self._replies.popitem(last=False)

    # --- accounting ----------------------------------------------------------------------

    def _accounting_batch(self) -> None:
        datagrams = self._drain(self.acct)
        if not datagrams:
            return
        self.stats.received += len(datagrams)
        started = time.perf_counter()
        now = utcnow()
        pending: list[tuple[bytes, AccountingEvent | None, bytes, tuple]] = []
        for data, source in datagrams:
            reply = self._cached_reply(source, data)
            if reply is not None:
                self.stats.duplicates += 1
                self._send(self.acct, reply, source)
                continue
            decoded = self._decode_accounting(data, source, now)
            if decoded is None:
                self.stats.dropped += 1
                continue
            pending.append((*decoded, data, source))
        if not pending:
            return
        events = [event for _reply, event, _data, _source in pending if event is not None]
        decoded = time.perf_counter()
        self.stats.decode_seconds += decoded - started
        try:
            outcomes = self._store(events, now)
        except Exception:
            logger.exception("RADIUS accounting batch of %d failed; trying one by one",
                             len(events))
            outcomes = self._store_one_by_one(events, now)
        self.stats.batches += 1
        self.stats.store_seconds += time.perf_counter() - decoded
        results = iter(outcomes)
        for reply, event, data, source in pending:
            outcome = next(results) if event is not None else Outcome.NOTHING_NEW
            if outcome is None:
                continue  # not stored: no answer, the NAS will send it again
            if outcome == Outcome.UNKNOWN_SUBSCRIBER:
                self.stats.unknown_subscribers += 1
            self._remember(source, data, reply)
            self._send(self.acct, reply, source)

    def _store(self, events: list[AccountingEvent], now: datetime) -> list[Outcome]:
        if not events:
            return []
        return accounting_apply(events=events, now=now)

    def _store_one_by_one(self, events, now) -> list[Outcome | None]:
        close_old_connections()
        outcomes: list[Outcome | None] = []
        for event in events:
            try:
                outcomes.extend(accounting_apply(events=[event], now=now))
            except Exception:
                logger.exception("RADIUS accounting from NAS %s (session %r) not stored",
                                 event.nas_id, event.session_id)
                if connection.connection is not None and not connection.is_usable():
                    connection.close()
                outcomes.append(None)
        return outcomes

    def _decode_accounting(self, data: bytes, source: tuple, now: datetime):
        """(the Accounting-Response to send once stored, the event or None when there
        is nothing to store), or None to drop the packet without an answer."""
        nas = self._nas_for(source)
        if nas is None:
            logger.info("RADIUS accounting from unknown address %s dropped", source[0])
            return None
        try:
            read = accounting_request_read(data, nas.secret)
        except BrokenPacket as error:
            logger.info("broken RADIUS accounting packet from %s dropped: %s", source[0], error)
            return None
        if read is None:
            logger.info("RADIUS accounting from %s (%s) dropped: wrong shared secret",
                        source[0], nas.name)
            return None
        identifier, authenticator, attributes = read
        reply = accounting_response(identifier, authenticator, nas.secret,
                                    attributes.get(PROXY_STATE, ()))
        status = STATUS.get(_integer(attributes, ACCT_STATUS_TYPE))
        if status is None:
            return reply, None  # answered, nothing to store (e.g. Accounting-Failed)
        delay = _integer(attributes, ACCT_DELAY_TIME)
        stamp = _integer(attributes, EVENT_TIMESTAMP)
        event_at = (datetime.fromtimestamp(stamp, UTC) if stamp
                    else now - timedelta(seconds=delay))
        return reply, AccountingEvent(
            nas_id=nas.id, nas_address=source[0], status=status,
            session_id=_text(attributes, ACCT_SESSION_ID)[:253],
            identity=Identity(user_name=_text(attributes, USER_NAME),
                              calling_station_id=_text(attributes, CALLING_STATION_ID),
                              imsi=_text(attributes, TGPP_IMSI)),
            bytes_in=(_integer(attributes, ACCT_INPUT_GIGAWORDS) << 32)
            + _integer(attributes, ACCT_INPUT_OCTETS),
            bytes_out=(_integer(attributes, ACCT_OUTPUT_GIGAWORDS) << 32)
            + _integer(attributes, ACCT_OUTPUT_OCTETS),
            mcc_mnc=mcc_mnc_clean(_text(attributes, TGPP_SGSN_MCC_MNC)),
            event_at=event_at,
        )

    # --- authorization -------------------------------------------------------------------

    def _authorization_batch(self) -> None:
        for data, source in self._drain(self.auth):
            self.stats.received += 1
            try:
                self._authorize(data, source)
            except Exception:
                logger.exception("Access-Request from %s not answered", source[0])
                close_old_connections()

    def _authorize(self, data: bytes, source: tuple) -> None:
        nas = self._nas_for(source)
        if nas is None:
            logger.info("Access-Request from unknown address %s dropped", source[0])
            self.stats.dropped += 1
            return
        try:
            pkt = packet.AuthPacket(packet=data, dict=self.dictionary, secret=nas.secret)
        except PacketError as error:
            logger.info("broken Access-Request from %s dropped: %s", source[0], error)
            self.stats.dropped += 1
            return
        pkt.source = source
        if pkt.code != packet.AccessRequest:
            self.stats.dropped += 1
            return
        if pkt.message_authenticator:
            if not pkt.verify_message_authenticator():
                logger.info("Access-Request from %s (%s) dropped: wrong shared secret",
                            source[0], nas.name)
                self.stats.dropped += 1
                return
        elif self.require_message_authenticator:
            logger.info("Access-Request from %s (%s) dropped: no Message-Authenticator",
                        source[0], nas.name)
            self.stats.dropped += 1
            return
        identity = Identity(user_name=_text(pkt, USER_NAME),
                            calling_station_id=_text(pkt, CALLING_STATION_ID),
                            imsi=_text(pkt, TGPP_IMSI))
        decision = card_authorization(identity=identity, now=utcnow())
        reply = pkt.CreateReply()
        if decision.accept:
            reply["Session-Timeout"] = decision.session_timeout
        else:
            reply.code = packet.AccessReject
            reply["Reply-Message"] = decision.reason
            logger.info("Access-Reject for %s from %s: %s", identity, nas.name, decision.reason)
        self._send(self.auth, reply.ReplyPacket(), source)
