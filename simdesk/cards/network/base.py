"""What simdesk asks of the mobile network, whoever runs it.

An adapter turns a card on, suspends, resumes or disconnects it. It answers with
a ``NetworkResult``, or raises ``NetworkError`` for a failure worth retrying (the
network did not answer, a timeout) or ``NetworkRejected`` for a refusal that a
retry cannot fix (unknown subscriber, bad request).
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simdesk.cards.models import Card


@dataclass(frozen=True)
class NetworkResult:
    """What the network said: a short human-readable ``detail`` and its own reference, if any."""

    detail: str = ""
    external_id: str = ""


class NetworkError(Exception):
    """The request did not go through; trying again later may work."""


class NetworkRejected(NetworkError):
    """The network refused the request; trying again will not help."""


class NetworkAdapter(ABC):
    """One implementation per network integration. ``reference`` identifies the request
    (the NetworkAction's public id): an adapter may pass it on so the network can
    recognise a retried request as the same one."""

    name: str = ""

    @abstractmethod
    def card_activate(self, *, card: "Card", reference: str) -> NetworkResult:
        """Let the card carry traffic (a new period is active)."""

    @abstractmethod
    def card_suspend(self, *, card: "Card", reference: str) -> NetworkResult:
        """Stop the card's traffic for now (paused, suspended by staff, out of data)."""

    @abstractmethod
    def card_resume(self, *, card: "Card", reference: str) -> NetworkResult:
        """Let a suspended card carry traffic again."""

    @abstractmethod
    def card_disconnect(self, *, card: "Card", reference: str) -> NetworkResult:
        """End the card's current sessions (RFC 5176 Disconnect-Request on RADIUS networks)."""

    def perform(self, *, action: str, card: "Card", reference: str) -> NetworkResult:
        method = {
            "activate": self.card_activate,
            "suspend": self.card_suspend,
            "resume": self.card_resume,
            "disconnect": self.card_disconnect,
        }.get(action)
        if method is None:
            raise NetworkRejected(f"unknown network action {action!r}")
        return method(card=card, reference=reference)
