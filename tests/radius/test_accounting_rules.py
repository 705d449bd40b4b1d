"""The accounting rules on their own (no sockets): which NAS a packet comes from,
identities, and a NAS that restarts."""

from datetime import timedelta

import pytest

from simdesk.core.clock import utcnow
from simdesk.radius.models import NasClient, RadiusSession
from simdesk.radius.selectors import card_whereabouts, nas_directory
from simdesk.radius.services.accounting import (
    AccountingEvent,
    AcctStatus,
    Identity,
    Outcome,
    accounting_apply,
)

from .conftest import MB

pytestmark = pytest.mark.django_db


def event(nas, who, status=AcctStatus.INTERIM, session="s-1", up=0, down=0, at=None):
    return AccountingEvent(nas_id=nas.pk, nas_address="127.0.0.1", status=status,
                           session_id=session, identity=Identity(user_name=who.imsi),
                           bytes_in=up, bytes_out=down, event_at=at)


def test_an_exact_address_wins_over_a_network_and_a_narrow_network_over_a_wide_one(db):
    exact = NasClient.objects.create(name="one", address="10.0.0.5", secret="s" * 16)
    narrow = NasClient.objects.create(name="narrow", address="10.0.0.0/24", secret="s" * 16)
    NasClient.objects.create(name="wide", address="10.0.0.0/8", secret="s" * 16)
    NasClient.objects.create(name="off", address="192.168.1.1", secret="s" * 16, active=False)
    directory = nas_directory()

    assert directory.find("10.0.0.5").id == exact.pk
    assert directory.find("10.0.0.9").id == narrow.pk
    assert directory.find("10.9.0.1").name == "wide"
    assert directory.find("::ffff:10.0.0.5").id == exact.pk  # IPv4 on a dual-stack socket
    assert directory.find("192.168.1.1") is None
    assert directory.find("172.16.0.1") is None


@pytest.mark.parametrize(("identity", "found"), [
    (Identity(user_name="001010123456789"), [("imsi", "001010123456789"),
                                            ("msisdn", "001010123456789")]),
    (Identity(user_name="001010123456789@mnc001.mcc001.3gppnetwork.org"),
     [("imsi", "001010123456789"), ("msisdn", "001010123456789")]),
    (Identity(calling_station_id="+447700900123"), [("msisdn", "447700900123")]),
    (Identity(imsi="001010123456789", user_name="web"), [("imsi", "001010123456789")]),
    (Identity(user_name="guest"), []),
])
def test_it_looks_the_card_up_by_3gpp_imsi_then_user_name_then_msisdn(identity, found):
    assert identity.candidates() == found


def test_accounting_on_after_a_nas_restart_closes_its_open_sessions(nas, subscriber):
    now = utcnow()
    accounting_apply(events=[event(nas, subscriber, AcctStatus.START, at=now)], now=now)
    assert card_whereabouts(card=subscriber.card).connected

    outcomes = accounting_apply(events=[AccountingEvent(
        nas_id=nas.pk, nas_address="127.0.0.1", status=AcctStatus.ACCOUNTING_ON,
        event_at=now)], now=now)

    assert outcomes == [Outcome.NAS_RESET]
    assert RadiusSession.objects.get().stopped_at is not None
    assert not card_whereabouts(card=subscriber.card).connected


def test_a_batch_with_duplicates_and_reordering_counts_each_increase_once(nas, subscriber):
    now = utcnow()
    events = [event(nas, subscriber, up=MB, down=MB, at=now - timedelta(seconds=30)),
              event(nas, subscriber, up=3 * MB, down=3 * MB, at=now - timedelta(seconds=10)),
              event(nas, subscriber, up=MB, down=MB, at=now - timedelta(seconds=30)),
              event(nas, subscriber, up=3 * MB, down=3 * MB, at=now - timedelta(seconds=10))]

    first = accounting_apply(events=events, now=now)
    again = accounting_apply(events=events, now=now)

    assert first == [Outcome.COUNTED, Outcome.COUNTED, Outcome.NOTHING_NEW,
                     Outcome.NOTHING_NEW]
    assert again == [Outcome.NOTHING_NEW] * 4
    subscriber.card.periods.get().refresh_from_db()
    assert subscriber.card.periods.get().used_bytes == 6 * MB
