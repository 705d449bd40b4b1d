"""A card its customer paused carries no traffic on a RADIUS network: its open sessions get
a Disconnect-Request, its Access-Requests are rejected until it is resumed, and usage its
NAS still reports is counted."""

from datetime import timedelta

import pytest
from pyrad import packet

from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import (
    CardState,
    NetworkAction,
    NetworkActionKind,
    NetworkActionStatus,
    Period,
)
from simdesk.cards.services import card_pause, card_unpause
from simdesk.core.clock import utcnow

from .conftest import GB, acct, needs_radclient, radclient
from .test_authorization import access
from .test_disconnect import listener, open_session, radius_network  # noqa: F401 (fixtures)


@pytest.fixture
def pausable(subscriber):
    """The subscriber's period was sold pausable for up to 7 days."""
    Period.objects.filter(card=subscriber.card).update(pausable=True, max_pause_days=7)
    return subscriber


@needs_radclient
def test_a_paused_card_is_rejected_until_it_is_resumed(radius_server, pausable, alice):
    card_pause(card=pausable.card, acting_user=alice, now=utcnow())

    answer = access(radius_server, user_name=pausable.imsi, timeout=10)

    assert "Received Access-Reject" in answer.output
    assert CardState.PAUSED in answer.output

    card_unpause(card=pausable.card, acting_user=alice, now=utcnow())

    assert "Received Access-Accept" in access(radius_server, user_name=pausable.imsi,
                                              timeout=10).output


def test_pausing_disconnects_the_cards_open_session(nas, listener, radius_network,  # noqa: F811
                                                    pausable, alice,
                                                    django_capture_on_commit_callbacks):
    open_session(nas, pausable)

    with django_capture_on_commit_callbacks(execute=True):
        card_pause(card=pausable.card, acting_user=alice, now=utcnow())

    assert listener.requests == [{"code": packet.DisconnectRequest,
                                  "User-Name": pausable.imsi, "Acct-Session-Id": "sess-open"}]
    action = NetworkAction.objects.get(card=pausable.card)
    assert (action.action, action.status, action.adapter) == (
        NetworkActionKind.SUSPEND, NetworkActionStatus.DONE, "radius")
    assert "Disconnect-ACK" in action.detail


@needs_radclient
def test_usage_the_nas_reports_after_the_pause_is_counted(radius_server, pausable, alice):
    # Generous timeouts: the answer waits for a durable write, slow on a busy machine.
    assert radclient(radius_server.acct_port, "acct", [acct("Start", pausable, session="s-7")],
                     timeout=10).answered == 1
    card_pause(card=pausable.card, acting_user=alice, now=utcnow() - timedelta(seconds=1))

    # The session's last counters arrive after the pause (the Stop of the disconnect)
    answer = radclient(radius_server.acct_port, "acct", [
        acct("Stop", pausable, session="s-7", up=GB // 10, down=GB // 10)], timeout=10)

    assert answer.answered == 1
    period = Period.objects.get(card=pausable.card)
    assert period.remaining_bytes == GB - GB // 5
    pausable.card.refresh_from_db()
    assert pausable.card.state == CardState.PAUSED
    assert list(ledger_violations()) == []
