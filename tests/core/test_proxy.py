"""The client's address for rate limits and lockouts: forged X-Forwarded-For headers count
for nothing, and behind the trusted proxy each client is counted on its own."""

import pytest
import time_machine
from django.test import Client, override_settings

from simdesk.core.proxy import client_address


@pytest.fixture
def at_now(now):
    with time_machine.travel(now, tick=False):
        yield now


def test_it_ignores_x_forwarded_for_without_a_trusted_proxy():
    meta = {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert client_address(meta, 0) == "198.51.100.7"


def test_it_takes_the_address_the_trusted_proxy_saw_not_what_the_client_wrote():
    # The client wrote "1.2.3.4"; nginx appended the address it saw the request come from.
    meta = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.9"}
    assert client_address(meta, 1) == "203.0.113.9"
    assert client_address({"REMOTE_ADDR": "127.0.0.1"}, 1) == "127.0.0.1"
    assert client_address({"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "junk"},
                          1) == "127.0.0.1"


def test_a_forged_x_forwarded_for_does_not_buy_more_anonymous_api_calls(db, settings, at_now):
    settings.API_ANONYMOUS_RATE_LIMIT = "2/m"
    client = Client(REMOTE_ADDR="192.0.2.1")

    answers = [client.get("/api/v1/plans", headers={"X-Forwarded-For": f"10.0.0.{i}"})
               for i in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]


@override_settings(TRUSTED_PROXY_COUNT=1, API_ANONYMOUS_RATE_LIMIT="2/m")
def test_behind_the_proxy_each_client_has_its_own_budget(db, at_now):
    proxy = Client(REMOTE_ADDR="127.0.0.1")

    def call(client_ip):
        return proxy.get("/api/v1/plans", headers={"X-Forwarded-For": client_ip}).status_code

    assert [call("203.0.113.9") for _ in range(3)] == [200, 200, 429]
    assert call("203.0.113.10") == 200
