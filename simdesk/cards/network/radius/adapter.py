"""The ``radius`` network adapter: a card that must stop (out of data, suspended,
paused) has its open sessions ended with a Disconnect-Request to their NAS.

Switching a card on or resuming it sends nothing: on a RADIUS network the card's next
Access-Request is answered by simdesk, which accepts it again once the card may carry
traffic. Answers are reported through the NetworkAction machinery: a Disconnect-ACK,
or a NAK with Error-Cause 503 (the session is already gone), is done; a NAK with a
4xx Error-Cause (the request itself is wrong) is refused for good; any other NAK, a
timeout or a socket error is retried with the growing delays of ``services``.
"""

from django.conf import settings
from django.utils.module_loading import import_string

from simdesk.core.clock import utcnow

from ..base import NetworkAdapter, NetworkError, NetworkRejected, NetworkResult
from .base import SESSION_GONE, DisconnectTarget, error_cause_text
from .client import DisconnectTimeout, disconnect_send

DEFAULT_LOCATOR = "simdesk.radius.selectors.radius_disconnect_targets"


class RadiusNetworkAdapter(NetworkAdapter):
    name = "radius"

    def __init__(self, *, locator=None, timeout: float | None = None,
                 tries: int | None = None):
        self._locator = locator
        self.timeout = timeout if timeout is not None else float(
            getattr(settings, "RADIUS_DISCONNECT_TIMEOUT", 3.0))
        self.tries = tries if tries is not None else int(
            getattr(settings, "RADIUS_DISCONNECT_TRIES", 3))

    def _targets(self, card) -> list[DisconnectTarget]:
        locator = self._locator or import_string(
            getattr(settings, "RADIUS_SESSION_LOCATOR", "") or DEFAULT_LOCATOR)
        return locator(card=card, now=utcnow())

    def _disconnect(self, card, verb: str) -> NetworkResult:
        targets = self._targets(card)
        if not targets:
            return NetworkResult(detail=f"radius: card {card.iccid} has no open session to "
                                        f"{verb}; its next Access-Request will be rejected")
        done, retry, refused = [], [], []
        for target in targets:
            where = f"session {target.session_id!r} on {target.nas_name} " \
                    f"({target.address}:{target.port})"
            try:
                answer = disconnect_send(target, timeout=self.timeout, tries=self.tries)
            except DisconnectTimeout as error:
                retry.append(f"{where}: timeout, {error}")
                continue
            except OSError as error:
                retry.append(f"{where}: {error}")
                continue
            if answer.acked:
                done.append(f"{where}: Disconnect-ACK")
            elif answer.error_cause == SESSION_GONE:
                done.append(f"{where}: Disconnect-NAK, {error_cause_text(answer.error_cause)} "
                            "(already ended)")
            elif answer.error_cause is not None and 400 <= answer.error_cause < 500:
                refused.append(f"{where}: Disconnect-NAK, {error_cause_text(answer.error_cause)}")
            else:
                retry.append(f"{where}: Disconnect-NAK, {error_cause_text(answer.error_cause)}")
        summary = "; ".join(done + refused + retry)
        if retry:
            raise NetworkError(f"radius: {summary}")
        if refused:
            raise NetworkRejected(f"radius: {summary}")
        return NetworkResult(detail=f"radius: {summary}")

    def card_activate(self, *, card, reference: str) -> NetworkResult:
        return NetworkResult(detail=f"radius: nothing to send; card {card.iccid}'s next "
                                    "Access-Request is accepted while it has data")

    def card_resume(self, *, card, reference: str) -> NetworkResult:
        return NetworkResult(detail=f"radius: nothing to send; card {card.iccid}'s next "
                                    "Access-Request is accepted while it has data")

    def card_suspend(self, *, card, reference: str) -> NetworkResult:
        return self._disconnect(card, "suspend")

    def card_disconnect(self, *, card, reference: str) -> NetworkResult:
        return self._disconnect(card, "disconnect")
