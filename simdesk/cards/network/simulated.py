"""The embedded default: a network that does what it is asked, at once, and says so.

Every request is kept in the NetworkAction row the request service wrote, which
this adapter's answer marks done, so staff can read what the network would have
been told. For tests it can be told to fail: ``fail_next(n)`` fails the next n
requests with a retryable error, ``settings.NETWORK_SIMULATED_FAIL = True`` fails
every request, ``settings.NETWORK_SIMULATED_FAIL = "reject"`` refuses every one.
"""

import threading

from django.conf import settings

from .base import NetworkAdapter, NetworkError, NetworkRejected, NetworkResult

DETAILS = {
    "activate": "simulated network: card {iccid} may carry traffic",
    "suspend": "simulated network: card {iccid} suspended",
    "resume": "simulated network: card {iccid} resumed",
    "disconnect": "simulated network: sessions of card {iccid} ended",
}


class SimulatedNetworkAdapter(NetworkAdapter):
    name = "simulated"

    _lock = threading.Lock()
    _failures_left = 0

    @classmethod
    def fail_next(cls, count: int = 1) -> None:
        with cls._lock:
            cls._failures_left = count

    @classmethod
    def _should_fail(cls) -> bool:
        with cls._lock:
            if cls._failures_left > 0:
                cls._failures_left -= 1
                return True
        return False

    def _answer(self, action: str, card, reference: str) -> NetworkResult:
        mode = getattr(settings, "NETWORK_SIMULATED_FAIL", False)
        if mode == "reject":
            raise NetworkRejected(f"simulated network refused {action} for card {card.iccid}")
        if mode or self._should_fail():
            raise NetworkError(f"simulated network did not answer {action} for card {card.iccid}")
        return NetworkResult(detail=DETAILS[action].format(iccid=card.iccid),
                             external_id=f"sim-{reference}")

    def card_activate(self, *, card, reference: str) -> NetworkResult:
        return self._answer("activate", card, reference)

    def card_suspend(self, *, card, reference: str) -> NetworkResult:
        return self._answer("suspend", card, reference)

    def card_resume(self, *, card, reference: str) -> NetworkResult:
        return self._answer("resume", card, reference)

    def card_disconnect(self, *, card, reference: str) -> NetworkResult:
        return self._answer("disconnect", card, reference)
