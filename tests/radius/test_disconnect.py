"""Enforcement on RADIUS networks: the ``radius`` network adapter sends a
Disconnect-Request (RFC 5176) to the NAS carrying the card's open session, and the
answer (ACK, NAK with Error-Cause, no answer) is recorded on the NetworkAction."""

import socket
import threading
from datetime import timedelta

import pytest
from django.test import override_settings
from pyrad import packet

from simdesk.cards.models import NetworkAction, NetworkActionKind, NetworkActionStatus
from simdesk.cards.network import get_network_adapter, network_action_perform, network_request
from simdesk.cards.network.radius import RadiusNetworkAdapter
from simdesk.cards.network.radius.client import radius_dictionary
from simdesk.cards.network.simulated import SimulatedNetworkAdapter
from simdesk.cards.services import card_suspend
from simdesk.core.clock import utcnow
from simdesk.radius.services.accounting import (
    AccountingEvent,
    AcctStatus,
    Identity,
    accounting_apply,
)

from .conftest import GB, SECRET, acct, needs_radclient, radclient


class DisconnectListener:
    """A NAS's dynamic authorization port (RFC 5176) on a free local port: it checks
    each request's signature, keeps it, and answers as told: "ack", a NAK Error-Cause
    number, or None for silence."""

    def __init__(self, secret: str = SECRET):
        self.secret = secret.encode()
        self.answer: str | int | None = "ack"
        self.requests: list[dict] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                data, source = self.sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            request = packet.CoAPacket(packet=data, dict=radius_dictionary(),
                                       secret=self.secret)
            if not request.VerifyCoARequest():
                continue
            self.requests.append({
                "code": request.code,
                "User-Name": request.get("User-Name", [None])[0],
                "Acct-Session-Id": request.get("Acct-Session-Id", [None])[0],
            })
            if self.answer is None:
                continue
            reply = request.CreateReply()
            if self.answer != "ack":
                reply.code = packet.DisconnectNAK
                reply[101] = [int(self.answer).to_bytes(4, "big")]  # Error-Cause
            self.sock.sendto(reply.ReplyPacket(), source)

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def listener(nas):
    """The NAS answers Disconnect-Requests on a local port (ACK unless told otherwise)."""
    nas_listener = DisconnectListener()
    nas.coa_port = nas_listener.port
    nas.save()
    yield nas_listener
    nas_listener.close()


@pytest.fixture
def radius_network():
    with override_settings(NETWORK_ADAPTER="radius", RADIUS_DISCONNECT_TIMEOUT=0.3,
                           RADIUS_DISCONNECT_TRIES=2):
        yield


def open_session(nas, subscriber, session_id="sess-open"):
    now = utcnow()
    accounting_apply(events=[AccountingEvent(
        nas_id=nas.pk, nas_address="127.0.0.1", status=AcctStatus.START,
        session_id=session_id, identity=Identity(user_name=subscriber.imsi),
        event_at=now)], now=now)


def request(card, action=NetworkActionKind.DISCONNECT):
    """Ask the network, and carry the request out as the task would after commit."""
    action_row = network_request(card=card, action=action, reason="test", now=utcnow())
    network_action_perform(action_id=action_row.pk, now=utcnow())
    action_row.refresh_from_db()
    return action_row


def test_the_simulated_network_stays_the_default_and_the_setting_selects_radius():
    assert isinstance(get_network_adapter(), SimulatedNetworkAdapter)
    with override_settings(NETWORK_ADAPTER="radius"):
        assert isinstance(get_network_adapter(), RadiusNetworkAdapter)


@needs_radclient
def test_a_card_that_runs_out_is_disconnected_at_its_nas(radius_server, listener,
                                                         radius_network, subscriber):
    radclient(radius_server.acct_port, "acct", [acct("Start", subscriber, session="s-42")])

    answer = radclient(radius_server.acct_port, "acct", [
        acct("Interim-Update", subscriber, session="s-42", up=GB // 4, down=GB)])

    assert answer.answered == 1
    assert listener.requests == [{"code": packet.DisconnectRequest,
                                  "User-Name": subscriber.imsi, "Acct-Session-Id": "s-42"}]
    action = NetworkAction.objects.get(card=subscriber.card)
    assert (action.action, action.status, action.adapter) == (
        NetworkActionKind.DISCONNECT, NetworkActionStatus.DONE, "radius")
    assert "Disconnect-ACK" in action.detail
    assert "s-42" in action.detail


def test_a_suspended_card_is_disconnected(nas, listener, radius_network, subscriber,
                                          django_capture_on_commit_callbacks):
    open_session(nas, subscriber)

    with django_capture_on_commit_callbacks(execute=True):
        card_suspend(card=subscriber.card, reason="fraud check", now=utcnow())

    assert [r["Acct-Session-Id"] for r in listener.requests] == ["sess-open"]
    action = NetworkAction.objects.get(card=subscriber.card)
    assert (action.action, action.status) == (NetworkActionKind.SUSPEND,
                                              NetworkActionStatus.DONE)


def test_a_nak_is_recorded_with_its_error_cause_and_retried(nas, listener, radius_network,
                                                           subscriber):
    open_session(nas, subscriber)
    listener.answer = 506  # Resources Unavailable

    action = request(subscriber.card)

    assert action.status == NetworkActionStatus.FAILED
    assert "Disconnect-NAK" in action.detail
    assert "Error-Cause 506 Resources Unavailable" in action.detail
    assert action.next_attempt_at is not None  # it will be tried again
    # The NAS recovers; the retry goes through.
    listener.answer = "ack"
    assert network_action_perform(action_id=action.pk, now=action.next_attempt_at)
    action.refresh_from_db()
    assert (action.status, action.attempts) == (NetworkActionStatus.DONE, 2)
    assert len(listener.requests) == 2


def test_no_answer_is_a_timeout_that_is_retried(nas, listener, radius_network, subscriber):
    open_session(nas, subscriber)
    listener.answer = None

    action = request(subscriber.card)

    assert action.status == NetworkActionStatus.FAILED
    assert "timeout" in action.detail
    assert action.next_attempt_at - utcnow() > timedelta(seconds=20)
    assert len(listener.requests) == 2  # RADIUS_DISCONNECT_TRIES


def test_a_session_the_nas_no_longer_has_counts_as_disconnected(nas, listener,
                                                                radius_network, subscriber):
    open_session(nas, subscriber)
    listener.answer = 503  # Session Context Not Found

    action = request(subscriber.card)

    assert action.status == NetworkActionStatus.DONE
    assert "Session Context Not Found" in action.detail


def test_a_request_the_nas_calls_invalid_is_not_retried(nas, listener, radius_network,
                                                        subscriber):
    open_session(nas, subscriber)
    listener.answer = 404  # Invalid Request

    action = request(subscriber.card)

    assert action.status == NetworkActionStatus.FAILED
    assert action.next_attempt_at is None
    assert "Error-Cause 404 Invalid Request" in action.detail


def test_a_card_without_an_open_session_has_nothing_to_disconnect(nas, listener,
                                                                  radius_network, subscriber):
    open_session(nas, subscriber)
    now = utcnow()
    accounting_apply(events=[AccountingEvent(
        nas_id=nas.pk, nas_address="127.0.0.1", status=AcctStatus.STOP,
        session_id="sess-open", identity=Identity(user_name=subscriber.imsi),
        event_at=now)], now=now)

    action = request(subscriber.card)

    assert action.status == NetworkActionStatus.DONE
    assert "no open session" in action.detail
    assert listener.requests == []


def test_switching_a_card_on_or_resuming_it_sends_nothing(nas, listener, radius_network,
                                                         subscriber):
    open_session(nas, subscriber)

    for kind in (NetworkActionKind.ACTIVATE, NetworkActionKind.RESUME):
        action = request(subscriber.card, action=kind)
        assert action.status == NetworkActionStatus.DONE
        assert "nothing to send" in action.detail
    assert listener.requests == []
