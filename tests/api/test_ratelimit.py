"""Every call is rate limited once: per token or key, per signed-in user, per address."""

import pytest
from django.test import Client

from .test_errors import assert_problem


def test_it_limits_anonymous_callers_per_address(db, settings, at_now):
    settings.API_ANONYMOUS_RATE_LIMIT = "2/m"
    here, there = Client(REMOTE_ADDR="192.0.2.1"), Client(REMOTE_ADDR="192.0.2.2")

    answers = [here.get("/api/v1/plans") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert_problem(answers[2], 429, "rate_limited")
    assert 1 <= int(answers[2]["Retry-After"]) <= 60
    assert there.get("/api/v1/plans").status_code == 200


def test_it_limits_a_signed_in_session_per_user(alice, client, settings, at_now):
    settings.API_RATE_LIMIT = "2/m"
    client.force_login(alice)

    answers = [client.get(path) for path in ("/api/v1/cards", "/api/v1/me", "/api/v1/tokens")]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert_problem(answers[2], 429, "rate_limited")
    assert int(answers[2]["Retry-After"]) >= 1


def test_it_counts_a_token_call_once(alice_api, settings, at_now):
    settings.API_RATE_LIMIT = "2/m"

    answers = [alice_api.get("/api/v1/cards") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]


def test_it_counts_nothing_when_switched_off(alice_api, settings, at_now):
    settings.API_RATE_LIMIT = "off"

    assert {alice_api.get("/api/v1/me").status_code for _ in range(20)} == {200}


@pytest.mark.parametrize("rate", ["600/m", "10/s", "5000/h", "100000/d"])
def test_it_reads_the_rate_setting(rate):
    from simdesk.api.ratelimit import parse_rate

    count, window = parse_rate(rate)

    assert count == int(rate.split("/")[0])
    assert window in {1, 60, 3600, 86400}


@pytest.mark.redis
def test_on_redis_a_window_is_one_counter_that_expires(settings):
    from django.core.cache import cache

    from simdesk.api.ratelimit import rate_limit_count

    cache.clear()
    assert [rate_limit_count("token:redis-test", rate="2/h") for _ in range(2)] == [None, None]
    wait = rate_limit_count("token:redis-test", rate="2/h")

    assert 1 <= wait <= 3600
    [key] = [key for key in cache._cache.get_client().keys("*") if b"token:redis-test" in key]
    assert cache.get(key.decode().split(":", 2)[2]) == 3  # the cache reads the same counter
    assert 3600 < cache._cache.get_client().ttl(key) <= 3605
