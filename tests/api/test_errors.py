"""Every refusal is one RFC 9457 problem document with a stable code."""

import json

import pytest
from django.test import Client, RequestFactory, override_settings

from simdesk.api.errors import Forbidden, on_service_error
from simdesk.core.errors import Conflict

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["code"] == code
    assert body["detail"]
    return body


@pytest.mark.django_db
def test_it_answers_401_without_credentials():
    response = Client().get("/api/v1/me")

    body = assert_problem(response, 401, "not_authenticated")
    assert "Bearer" in response["WWW-Authenticate"]
    assert body["title"] == "Unauthorized"


@pytest.mark.django_db
def test_it_answers_401_for_a_malformed_or_unknown_token():
    for value in ("Bearer nonsense", "Bearer sdk_deadbeef_wrong", "Bearer sdk__"):
        response = Client(HTTP_AUTHORIZATION=value).get("/api/v1/me")
        assert_problem(response, 401, "not_authenticated")


def test_it_names_the_invalid_fields_in_a_400(alice_api):
    response = alice_api.post("/api/v1/cards/claim", {"iccid": "8944"},
                              content_type="application/json")

    body = assert_problem(response, 400, "invalid_request")
    assert [error["field"] for error in body["errors"]] == ["claim_code"]
    assert body["errors"][0]["message"]
    assert "claim_code" in body["detail"]


def test_it_names_an_invalid_query_parameter(alice_api):
    response = alice_api.get("/api/v1/cards?limit=1000")

    body = assert_problem(response, 400, "invalid_request")
    assert body["errors"][0]["field"] == "limit"


def test_it_answers_400_for_malformed_json(alice_api):
    response = alice_api.post("/api/v1/cards/claim", "{not json",
                              content_type="application/json")

    assert_problem(response, 400, "invalid_request")


def test_it_answers_404_for_an_unknown_card(alice_api):
    response = alice_api.get("/api/v1/cards/00000000-0000-0000-0000-000000000000")

    assert_problem(response, 404, "not_found")


def test_it_answers_404_for_an_unknown_address_inside_the_api(alice_api):
    response = alice_api.get("/api/v1/no-such-thing")

    assert response.status_code == 404


def test_it_maps_a_conflict_to_409_and_forbidden_to_403():
    request = RequestFactory().get("/api/v1/")

    conflict = on_service_error(request, Conflict("Already done.", code="already_done"))
    forbidden = on_service_error(request, Forbidden("Missing scope orders:read.",
                                                    code="missing_scope"))

    assert_problem(conflict, 409, "already_done")
    assert_problem(forbidden, 403, "missing_scope")
    assert json.loads(forbidden.content)["detail"] == "Missing scope orders:read."


@override_settings(API_RATE_LIMIT="3/m")
def test_it_answers_429_with_retry_after_once_a_token_is_over_its_rate(alice_api, at_now):
    answers = [alice_api.get("/api/v1/me") for _ in range(4)]

    assert [answer.status_code for answer in answers[:3]] == [200, 200, 200]
    assert_problem(answers[3], 429, "rate_limited")
    assert 1 <= int(answers[3]["Retry-After"]) <= 60


@override_settings(API_RATE_LIMIT="1/m")
def test_it_counts_the_rate_per_token(alice, alice_api, now, at_now):
    from simdesk.accounts.tokens import token_create

    _token, other = token_create(user=alice, name="second", now=now)
    alice_api.get("/api/v1/me")

    assert alice_api.get("/api/v1/me").status_code == 429
    assert Client(HTTP_AUTHORIZATION=f"Bearer {other}").get("/api/v1/me").status_code == 200


def test_it_writes_the_detail_in_the_language_of_accept_language(alice_api):
    english = alice_api.get("/api/v1/cards/nope", HTTP_ACCEPT_LANGUAGE="en")
    chinese = alice_api.get("/api/v1/cards/nope", HTTP_ACCEPT_LANGUAGE="zh-Hans")

    assert english["Content-Language"] == "en"
    assert chinese["Content-Language"] == "zh-hans"
    assert_problem(chinese, 404, "not_found")
    assert english.json()["detail"] == "We could not find this card in your account."
    assert chinese.json()["detail"] != english.json()["detail"]
    assert chinese.json()["detail"] == "在您的账户中找不到这张卡。"
    assert chinese.json()["code"] == english.json()["code"]


def test_it_writes_a_401_in_chinese_for_a_chinese_caller(db):
    response = Client().get("/api/v1/me", HTTP_ACCEPT_LANGUAGE="zh-Hans")

    body = assert_problem(response, 401, "not_authenticated")
    assert body["title"] == "未授权"
    assert "Authorization" in body["detail"] and "Sign in" not in body["detail"]


def test_it_lets_accept_language_win_over_the_saved_language_on_the_api(alice, client):
    alice.language = "en"
    alice.save(update_fields=["language"])
    client.force_login(alice)

    response = client.get("/api/v1/cards/nope", HTTP_ACCEPT_LANGUAGE="zh-Hans")

    assert response["Content-Language"] == "zh-hans"
    assert response.json()["detail"] == "在您的账户中找不到这张卡。"


def test_it_uses_the_saved_language_when_a_token_caller_sends_none(alice, alice_api):
    alice.language = "zh-hans"
    alice.save(update_fields=["language"])

    response = alice_api.get("/api/v1/cards/nope")

    assert response["Content-Language"] == "zh-hans"


def test_it_answers_a_method_an_address_does_not_take_with_a_405_problem(alice_api):
    response = alice_api.patch("/api/v1/me/notifications")

    assert_problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, PUT"


def test_it_refuses_nul_characters_naming_the_field(alice_api):
    body = {"iccid": "8944\u0000", "claim_code": "ok"}
    claim = alice_api.post("/api/v1/cards/claim", body, content_type="application/json")
    token = alice_api.post("/api/v1/tokens", {"name": "a\u0000b"},
                           content_type="application/json")
    query = alice_api.get("/api/v1/orders", {"cursor": "\u0000"})

    assert [e["field"] for e in assert_problem(claim, 400, "invalid_request")["errors"]] == [
        "iccid"]
    assert assert_problem(token, 400, "invalid_request")["errors"][0]["field"] == "name"
    assert assert_problem(query, 400, "invalid_request")["errors"][0]["field"] == "cursor"
