"""RADIUS accounting driven by Debian's radclient: usage is the increase of the
session's cumulative counters, counted once, answered only once stored."""

import socket
import threading
import time

import pytest
from pyrad import packet

from simdesk.cards.models import LedgerEntry, NetworkAction, NetworkActionKind
from simdesk.cards.network.radius.client import radius_dictionary
from simdesk.radius.models import RadiusSession
from simdesk.usage.models import RatingCursor, Record

from .conftest import GB, MB, SECRET, acct, needs_radclient, radclient

pytestmark = needs_radclient


def used(card) -> int:
    """Bytes debited from the card's periods plus overage, from the ledger."""
    return -sum(LedgerEntry.objects.filter(card=card, kind__in=("debit_usage", "overage"))
                .values_list("bytes", flat=True))


def elsewhere(read):
    """What ``read()`` returns on a connection of its own: only committed data."""
    from django.db import connections

    found = []

    def look():
        try:
            found.append(read())
        finally:
            connections.close_all()

    thread = threading.Thread(target=look)
    thread.start()
    thread.join(timeout=10)
    return found[0]


def rated_records() -> int:
    """Usage records stored and applied to their cards."""
    cursor = RatingCursor.objects.filter(pk=1).first()
    return Record.objects.filter(pk__lte=cursor.through if cursor else 0).count()


def send(server, *packets, **options):
    return radclient(server.acct_port, "acct", list(packets), **options)


def test_it_counts_a_session_from_start_through_interim_to_stop(radius_server, subscriber):
    s = subscriber
    assert send(radius_server, acct("Start", s)).answered == 1
    assert send(radius_server, acct("Interim-Update", s, up=2 * MB, down=10 * MB)).answered == 1
    assert used(s.card) == 12 * MB
    assert send(radius_server, acct("Stop", s, up=3 * MB, down=15 * MB)).answered == 1

    assert used(s.card) == 18 * MB
    session = RadiusSession.objects.get(card=s.card)
    assert (session.bytes_in, session.bytes_out) == (3 * MB, 15 * MB)
    assert session.stopped_at is not None
    s.card.periods.get().refresh_from_db()
    assert s.card.periods.get().remaining_bytes == GB - 18 * MB


def test_it_adds_gigawords_times_two_to_the_32_to_the_octets(radius_server, make_plan,
                                                             subscriber):
    from simdesk.cards.services import period_create
    from simdesk.core.clock import utcnow

    period_create(card=subscriber.card, plan=make_plan(data_bytes=100 * GB, stacking="parallel"),
                  source="test:big", now=utcnow())
    up, down = 2**32 + 5, 3 * 2**32 + 7  # 4 GiB + 5 up, 12 GiB + 7 down

    answer = send(radius_server, acct("Interim-Update", subscriber, up=up, down=down))

    assert answer.answered == 1
    assert "Acct-Output-Gigawords = 3" in answer.output
    assert used(subscriber.card) == up + down


def test_a_retransmitted_request_is_answered_each_time_but_counted_once(radius_server,
                                                                         subscriber):
    interim = acct("Interim-Update", subscriber, up=MB, down=4 * MB)

    assert send(radius_server, interim).answered == 1
    assert send(radius_server, interim).answered == 1  # the same file sent again

    assert used(subscriber.card) == 5 * MB
    assert Record.objects.count() == rated_records() == 1


def test_an_answer_goes_out_only_once_its_usage_is_committed_and_rated(radius_server,
                                                                        subscriber, monkeypatch):
    real_send, seen = radius_server._send, []

    def send_after_looking(sock, data, address):
        seen.append(elsewhere(lambda: (used(subscriber.card), rated_records())))
        real_send(sock, data, address)

    monkeypatch.setattr(radius_server, "_send", send_after_looking)

    assert send(radius_server, acct("Interim-Update", subscriber, up=MB, down=4 * MB)
                ).answered == 1
    assert seen == [(5 * MB, 1)]


def test_usage_that_cannot_be_rated_is_not_answered_and_counts_once_when_sent_again(
        radius_server, subscriber, monkeypatch):
    """Storing, rating and the session's counters are one transaction: a rating that
    fails leaves nothing behind, and the NAS's retransmission is counted in full."""
    from django.db import OperationalError

    from simdesk.usage import rating

    real_run = rating._run

    def failing_run(*args, **kwargs):
        raise OperationalError("could not extend file: No space left on device")

    monkeypatch.setattr(rating, "_run", failing_run)
    interim = acct("Interim-Update", subscriber, up=MB, down=4 * MB)

    assert send(radius_server, interim, timeout=0.5).answered == 0
    assert used(subscriber.card) == 0
    assert not Record.objects.exists()
    assert not RadiusSession.objects.exists()

    monkeypatch.setattr(rating, "_run", real_run)

    assert send(radius_server, interim).answered == 1
    assert used(subscriber.card) == 5 * MB
    assert Record.objects.count() == rated_records() == 1


def test_the_very_same_datagram_twice_gets_two_answers_and_one_count(radius_server,
                                                                     subscriber):
    request = packet.AcctPacket(dict=radius_dictionary(), secret=SECRET.encode(), id=42)
    request["Acct-Status-Type"] = "Interim-Update"
    request["User-Name"] = subscriber.imsi
    request["Acct-Session-Id"] = "raw-1"
    request["Acct-Input-Octets"] = 1000
    request["Acct-Output-Octets"] = 2000
    datagram = request.RequestPacket()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        replies = []
        for _ in range(2):
            sock.sendto(datagram, ("127.0.0.1", radius_server.acct_port))
            replies.append(sock.recv(4096))

    for raw in replies:
        reply = request.CreateReply(packet=raw)
        assert reply.code == packet.AccountingResponse
        assert request.VerifyReply(reply, raw)
    assert used(subscriber.card) == 3000


def test_an_interim_update_that_arrives_late_adds_nothing(radius_server, subscriber):
    s = subscriber
    send(radius_server, acct("Interim-Update", s, up=MB, down=20 * MB))
    send(radius_server, acct("Interim-Update", s, up=MB, down=10 * MB))  # older, late
    assert used(s.card) == 21 * MB

    send(radius_server, acct("Interim-Update", s, up=2 * MB, down=30 * MB))

    assert used(s.card) == 32 * MB


def test_a_session_that_restarts_after_its_stop_counts_again_from_zero(radius_server,
                                                                        subscriber):
    s, now = subscriber, int(time.time())
    send(radius_server, acct("Start", s, Event_Timestamp=now - 100))
    send(radius_server, acct("Stop", s, up=MB, down=9 * MB, Event_Timestamp=now - 50))
    # The NAS reuses the Acct-Session-Id for a new session.
    send(radius_server, acct("Start", s, Event_Timestamp=now - 10))
    send(radius_server, acct("Interim-Update", s, up=MB, down=MB, Event_Timestamp=now - 5))

    assert used(s.card) == 12 * MB
    session = RadiusSession.objects.get(card=s.card)
    assert session.generation == 1
    assert session.stopped_at is None


def test_counters_going_down_after_a_stop_are_a_restart(radius_server, subscriber):
    s, now = subscriber, int(time.time())
    send(radius_server, acct("Stop", s, up=5 * MB, down=5 * MB, Event_Timestamp=now - 60))
    send(radius_server, acct("Interim-Update", s, up=MB, down=MB, Event_Timestamp=now - 1))

    assert used(s.card) == 12 * MB
    assert RadiusSession.objects.get(card=s.card).generation == 1


def test_a_late_copy_of_an_old_interim_after_the_stop_is_not_a_restart(radius_server,
                                                                        subscriber):
    s, now = subscriber, int(time.time())
    send(radius_server, acct("Interim-Update", s, up=MB, down=MB, Event_Timestamp=now - 120))
    send(radius_server, acct("Stop", s, up=2 * MB, down=2 * MB, Event_Timestamp=now - 60))
    # The same interim, retransmitted by the NAS after it sent the Stop.
    send(radius_server, acct("Interim-Update", s, up=MB, down=MB, Event_Timestamp=now - 120,
                             Acct_Delay_Time=90))

    assert used(s.card) == 4 * MB
    assert RadiusSession.objects.get(card=s.card).generation == 0


def test_a_wrong_shared_secret_gets_no_answer_and_nothing_is_stored(radius_server, subscriber):
    answer = send(radius_server, acct("Interim-Update", subscriber, up=MB, down=MB),
                  secret="not-the-secret", timeout=0.5)

    assert answer.answered == 0
    assert "No reply" in answer.output
    assert used(subscriber.card) == 0
    assert not RadiusSession.objects.exists()


def test_a_nas_that_is_not_active_gets_no_answer(radius_server, nas, subscriber):
    nas.active = False
    nas.save()
    time.sleep(0.3)  # the server reloads its list of NAS clients

    answer = send(radius_server, acct("Interim-Update", subscriber, up=MB), timeout=0.5)

    assert answer.answered == 0
    assert used(subscriber.card) == 0


def test_an_unknown_subscriber_is_answered_and_nothing_is_counted(radius_server, subscriber):
    stranger = type(subscriber)(card=None, imsi="001019999999999", msisdn="")

    answer = send(radius_server, acct("Interim-Update", stranger, up=MB, down=MB))

    assert answer.answered == 1
    assert radius_server.stats.unknown_subscribers == 1
    assert not RadiusSession.objects.exists()
    assert not Record.objects.exists()


@pytest.mark.parametrize("identity", ["Calling-Station-Id", "3GPP-IMSI"])
def test_it_finds_the_card_by_msisdn_or_3gpp_imsi(radius_server, subscriber, identity):
    request = acct("Interim-Update", subscriber, up=MB, down=MB)
    del request["User-Name"]
    request[identity] = (f'"+{subscriber.msisdn}"' if identity == "Calling-Station-Id"
                         else f'"{subscriber.imsi}"')

    assert send(radius_server, request).answered == 1
    assert used(subscriber.card) == 2 * MB


def test_many_requests_in_one_burst_are_each_answered_and_counted(radius_server, subscriber):
    packets = [acct("Interim-Update", subscriber, session=f"burst-{i}", up=i, down=1000)
               for i in range(1, 201)]

    answer = send(radius_server, *packets, parallel=100)

    assert answer.answered == 200
    assert used(subscriber.card) == sum(range(1, 201)) + 200 * 1000
    assert radius_server.stats.batches < 200  # stored in batches, not one by one


def test_running_out_of_data_asks_the_network_to_disconnect_the_card(radius_server,
                                                                      subscriber):
    send(radius_server, acct("Interim-Update", subscriber, up=GB // 2, down=GB))

    action = NetworkAction.objects.get(card=subscriber.card)
    assert action.action == NetworkActionKind.DISCONNECT
    assert action.reason == "out of data"


def test_it_keeps_serving_when_the_database_is_away_for_a_moment(nas, subscriber, monkeypatch):
    import threading

    from django.db import OperationalError

    from simdesk.radius import server as module

    from .conftest import RadiusServer

    real, calls = module.nas_directory, []

    def database_restarting():
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("the database system is shutting down")
        return real()

    monkeypatch.setattr(module, "nas_directory", database_restarting)
    server = RadiusServer(host="127.0.0.1", acct_port=0, auth_port=0, batch_wait=0.001)
    stop = threading.Event()
    thread = threading.Thread(target=server.serve, args=(stop,), daemon=True)
    thread.start()
    try:
        # The first copy finds the database away and is not answered; radclient's
        # retransmission is.
        answer = radclient(server.acct_port, "acct", [acct("Start", subscriber)], timeout=1,
                           retries=3)

        assert answer.answered == 1
        assert thread.is_alive()
        assert len(calls) == 2
    finally:
        stop.set()
        thread.join(timeout=10)
        server.close()
