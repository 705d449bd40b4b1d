"""Reads of the RADIUS app that encode a rule: who may talk to us, whether a card may
attach (Access-Request), which sessions to disconnect, and where a card was seen."""

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext

from simdesk.cards.models import Card, CardState
from simdesk.cards.network.radius.base import DisconnectTarget
from simdesk.cards.selectors import card_balance
from simdesk.core.clock import utcnow

from .models import NasClient, RadiusSession
from .networks import Network, network_describe
from .services.accounting import Identity

# A session with no packet for this long is taken as gone (its NAS never sent a Stop).
SESSION_STALE_AFTER = timedelta(days=2)


@dataclass(frozen=True)
class NasEntry:
    id: int
    name: str
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    secret: bytes


class NasDirectory:
    """The active network access servers, found by the source address of a packet:
    an exact address wins over a network, a narrower network over a wider one."""

    def __init__(self, entries: list[NasEntry]):
        self._exact = {str(e.network.network_address): e for e in entries
                       if e.network.num_addresses == 1}
        self._networks = sorted((e for e in entries if e.network.num_addresses > 1),
                                key=lambda e: e.network.prefixlen, reverse=True)

    def __len__(self) -> int:
        return len(self._exact) + len(self._networks)

    def find(self, address: str) -> NasEntry | None:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        if getattr(ip, "ipv4_mapped", None) is not None:
            ip = ip.ipv4_mapped
        entry = self._exact.get(str(ip))
        if entry is not None:
            return entry
        return next((e for e in self._networks if ip in e.network), None)


def nas_directory() -> NasDirectory:
    return NasDirectory([
        NasEntry(id=nas.pk, name=nas.name, network=nas.network, secret=nas.secret.encode())
        for nas in NasClient.objects.filter(active=True)
    ])


@dataclass(frozen=True)
class Authorization:
    """The answer to an Access-Request: accept with a Session-Timeout, or reject and why."""

    accept: bool
    reason: str
    card_id: int | None = None
    session_timeout: int | None = None  # seconds until the card's data period ends


def card_find_by_identity(identity: Identity) -> Card | None:
    for field, value in identity.candidates():
        card = Card.objects.filter(**{field: value}).first()
        if card is not None:
            return card
    return None


def card_authorization(*, identity: Identity, now: datetime) -> Authorization:
    """Accept while the card is active and has an active period with data left (or an
    unlimited one); the Session-Timeout is the time left until the last active period
    ends, or a waiting first-use period's whole validity. Reject anything else:
    unknown, paused, suspended, terminated, no period, or no data left."""
    card = card_find_by_identity(identity)
    if card is None:
        return Authorization(accept=False, reason="unknown subscriber")
    no_data = Authorization(accept=False, reason="no active plan with data", card_id=card.pk)
    if card.state == CardState.INACTIVE:
        return no_data
    if card.state != CardState.ACTIVE:
        return Authorization(accept=False, reason=f"card is {card.state}", card_id=card.pk)
    balance = card_balance(card=card, now=now)
    usable = [p for p in balance.active_periods if p.unlimited or p.remaining_bytes > 0]
    if not usable:
        return no_data
    ends = [p.ends_at for p in usable if p.ends_at is not None]
    if ends:
        timeout = int((max(ends) - now).total_seconds())
    else:  # only first-use periods: their clock starts with this session
        timeout = max(p.validity_days for p in usable) * 86400
    return Authorization(accept=True, reason="active", card_id=card.pk,
                         session_timeout=max(timeout, 1))


def radius_disconnect_targets(*, card: Card, now: datetime) -> list[DisconnectTarget]:
    """The card's open sessions and where to send their Disconnect-Request: the
    address the NAS sent its accounting from, on its CoA port, with its secret."""
    sessions = (RadiusSession.objects.select_related("nas")
                .filter(card=card, stopped_at__isnull=True, nas__active=True,
                        last_event_at__gte=now - SESSION_STALE_AFTER)
                .order_by("pk"))
    return [DisconnectTarget(nas_name=s.nas.name, address=s.nas_address, port=s.nas.coa_port,
                             secret=s.nas.secret.encode(), user_name=s.user_name,
                             session_id=s.session_id)
            for s in sessions]


@dataclass(frozen=True)
class CardWhereabouts:
    """Where the network last saw a card, for the customer: "connected via <network>,
    <country>, last seen <time>"."""

    connected: bool
    network: Network | None
    last_seen_at: datetime

    @property
    def place(self) -> str:
        """"Vodafone, United Kingdom"; the MCC/MNC when the network is not in the table;
        "" when the network did not say."""
        if self.network is None:
            return ""
        if self.network.country:
            return gettext("%(operator)s, %(country)s") % {
                "operator": self.network.operator, "country": self.network.country}
        return self.network.operator


def card_whereabouts(*, card: Card, now: datetime | None = None) -> CardWhereabouts | None:
    """From the card's latest accounting session: connected while it is open (and not
    stale), the visited network it last reported, and the time of its last packet.
    None until the network has reported the card through RADIUS accounting."""
    sessions = RadiusSession.objects.filter(card=card).order_by("-last_event_at", "-pk")
    latest = sessions.only("mcc_mnc", "last_event_at", "stopped_at").first()
    if latest is None:
        return None
    code = latest.mcc_mnc or sessions.exclude(mcc_mnc="").values_list(
        "mcc_mnc", flat=True).first() or ""
    now = now or utcnow()
    return CardWhereabouts(
        connected=latest.stopped_at is None
        and latest.last_event_at >= now - SESSION_STALE_AFTER,
        network=network_describe(code), last_seen_at=latest.last_event_at)
