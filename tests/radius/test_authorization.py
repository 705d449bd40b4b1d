"""Access-Request on the authorization port: accept while the card has an active period
with data (Session-Timeout until it ends), reject otherwise."""

import re
from datetime import timedelta

from simdesk.cards.models import CardState
from simdesk.cards.services import card_debit_usage, card_suspend, period_create
from simdesk.catalog.models import ValidityStart
from simdesk.core.clock import utcnow

from .conftest import GB, needs_radclient, radclient

pytestmark = needs_radclient


def access(server, *, user_name, secret=None, message_authenticator=True, timeout=2):
    request = {"User-Name": f'"{user_name}"', "User-Password": '"sim"'}
    if message_authenticator:
        request["Message-Authenticator"] = "0x00"  # radclient fills in the real one
    options = {"secret": secret} if secret else {}
    return radclient(server.auth_port, "auth", [request], timeout=timeout, **options)


def session_timeout(output: str) -> int:
    return int(re.search(r"Session-Timeout = (\d+)", output).group(1))


def test_a_card_with_data_is_accepted_until_its_period_ends(radius_server, subscriber):
    answer = access(radius_server, user_name=subscriber.imsi)

    assert "Received Access-Accept" in answer.output
    thirty_days = int(timedelta(days=30).total_seconds())
    assert thirty_days - 60 < session_timeout(answer.output) <= thirty_days


def test_a_first_use_period_is_accepted_for_its_whole_validity(radius_server, make_card,
                                                               make_plan, alice):
    card = make_card(owner=alice, imsi="001010000099901")
    plan = make_plan(data_bytes=GB, days=7, validity_start=ValidityStart.ON_FIRST_USE)
    period_create(card=card, plan=plan, source="test:first-use", now=utcnow())

    answer = access(radius_server, user_name=card.imsi)

    assert "Received Access-Accept" in answer.output
    assert session_timeout(answer.output) == 7 * 86400


def test_a_card_with_no_data_left_is_rejected(radius_server, subscriber):
    now = utcnow()
    card_debit_usage(card=subscriber.card, bytes=GB, reference="usage:test:all", at=now,
                     now=now)

    answer = access(radius_server, user_name=subscriber.imsi)

    assert "Received Access-Reject" in answer.output
    assert "no active plan with data" in answer.output


def test_a_suspended_card_is_rejected(radius_server, subscriber):
    card_suspend(card=subscriber.card, reason="fraud check", now=utcnow())

    answer = access(radius_server, user_name=subscriber.imsi)

    assert "Received Access-Reject" in answer.output
    assert CardState.SUSPENDED in answer.output


def test_a_card_without_a_plan_is_rejected(radius_server, make_card, alice):
    card = make_card(owner=alice, imsi="001010000099902")

    assert "Received Access-Reject" in access(radius_server, user_name=card.imsi).output


def test_an_unknown_subscriber_is_rejected(radius_server, subscriber):
    answer = access(radius_server, user_name="001019999999998")

    assert "Received Access-Reject" in answer.output
    assert "unknown subscriber" in answer.output


def test_a_wrong_shared_secret_gets_no_answer(radius_server, subscriber):
    answer = access(radius_server, user_name=subscriber.imsi, secret="wrong-secret",
                    timeout=0.5)

    assert answer.answered == 0


def test_a_request_without_message_authenticator_gets_no_answer(radius_server, subscriber):
    answer = access(radius_server, user_name=subscriber.imsi, message_authenticator=False,
                    timeout=0.5)

    assert answer.answered == 0
