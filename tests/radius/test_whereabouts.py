"""Where the card is: the visited network from accounting, shown on the card page and
in the API so a traveller can tell a network problem from an empty balance."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from simdesk.core.clock import utcnow
from simdesk.radius.networks import network_describe
from simdesk.radius.selectors import card_whereabouts
from simdesk.radius.services.accounting import (
    AccountingEvent,
    AcctStatus,
    Identity,
    accounting_apply,
)

from .conftest import acct, needs_radclient, radclient


def _report(nas, subscriber, status=AcctStatus.INTERIM, mcc_mnc="23415", at=None):
    at = at or utcnow()
    accounting_apply(events=[AccountingEvent(
        nas_id=nas.pk, nas_address="127.0.0.1", status=status, session_id="s-1",
        identity=Identity(user_name=subscriber.imsi), bytes_in=10, bytes_out=10,
        mcc_mnc=mcc_mnc, event_at=at)], now=at)


def test_it_names_common_networks_and_their_country_in_the_readers_language():
    assert network_describe("23415").operator == "Vodafone"
    assert network_describe("23415").country == "United Kingdom"
    assert network_describe("310260").operator == "T-Mobile"
    assert network_describe("310260").country_code == "US"
    with translation.override("zh-hans"):
        assert network_describe("46000").country == "中国"


def test_it_shows_the_code_of_a_network_not_in_the_table():
    network = network_describe("99999")
    assert (network.operator, network.country, network.code) == ("99999", "", "99999")
    assert network_describe("not-a-code") is None


def test_a_card_the_network_never_reported_has_no_whereabouts(subscriber):
    assert card_whereabouts(card=subscriber.card) is None


def test_it_records_the_visited_network_and_last_seen_time(nas, subscriber):
    seen = utcnow()
    _report(nas, subscriber, at=seen)

    where = card_whereabouts(card=subscriber.card)
    assert where.connected
    assert where.place == "Vodafone, United Kingdom"
    assert abs(where.last_seen_at - seen) < timedelta(seconds=5)


def test_a_stop_keeps_the_network_but_says_the_card_is_no_longer_connected(nas, subscriber):
    _report(nas, subscriber)
    _report(nas, subscriber, status=AcctStatus.STOP, mcc_mnc="")

    where = card_whereabouts(card=subscriber.card)
    assert not where.connected
    assert where.place == "Vodafone, United Kingdom"


def test_the_card_page_says_where_the_card_is_connected(nas, subscriber, alice):
    _report(nas, subscriber, mcc_mnc="44010")
    client = Client()
    client.force_login(alice)

    page = client.get(reverse("portal:card_detail", args=[subscriber.card.public_id]))

    text = page.content.decode()
    assert "Connected via NTT docomo, Japan, last seen" in text


def test_the_api_card_detail_names_the_network(nas, subscriber, alice):
    from simdesk.accounts.tokens import token_create

    _report(nas, subscriber, mcc_mnc="46001")
    _token, plaintext = token_create(user=alice, name="script", now=utcnow())
    api = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")

    body = api.get(f"/api/v1/cards/{subscriber.card.public_id}").json()

    assert body["network"]["connected"] is True
    assert body["network"]["mcc_mnc"] == "46001"
    assert body["network"]["operator"] == "China Unicom"
    assert body["network"]["country_code"] == "CN"
    assert body["network"]["country"] == "China"


@pytest.mark.django_db
def test_the_api_card_detail_network_is_null_until_reported(make_card, alice):
    from simdesk.accounts.tokens import token_create

    card = make_card(owner=alice)
    _token, plaintext = token_create(user=alice, name="script", now=utcnow())
    api = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")

    assert api.get(f"/api/v1/cards/{card.public_id}").json()["network"] is None


@needs_radclient
def test_the_server_takes_the_network_from_3gpp_sgsn_mcc_mnc(radius_server, subscriber):
    answer = radclient(radius_server.acct_port, "acct", [
        acct("Start", subscriber, **{"3GPP-SGSN-MCC-MNC": '"20801"'})])

    assert answer.answered == 1
    assert card_whereabouts(card=subscriber.card).place == "Orange, France"
