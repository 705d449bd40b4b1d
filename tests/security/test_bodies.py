"""Oversized and malformed bodies get a 4xx with a message, never a 500: the API's JSON
(too large, not JSON, wrong types, a usage batch over its limit), the webhooks' bodies
(over the limit: 413, for every gateway's address), and the site's forms (NUL bytes,
over-long text, bytes that are not UTF-8)."""

import json

import pytest
from django.test import Client

from simdesk.api.operator.usage import MAX_RECORDS
from simdesk.api.webhooks import MAX_BODY_BYTES

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def operator(make_user, now):
    from simdesk.api.keys import operator_key_create
    from simdesk.api.models import OperatorScope

    staff = make_user("ops@example.com", is_staff=True)
    _key, token = operator_key_create(name="all", scopes=OperatorScope.values, created_by=staff,
                                      now=now)
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def customer(alice, now):
    from simdesk.accounts.tokens import token_create

    _token, plaintext = token_create(user=alice, name="script", now=now)
    return Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")


def assert_problem(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith(PROBLEM), response["Content-Type"]
    assert response.json().get("detail") or response.json().get("title")


def record(i):
    return {"record_id": f"r{i}", "iccid": "8944500100000000017", "bytes_up": 1,
            "bytes_down": 1, "started_at": "2026-06-01T10:00:00Z",
            "ended_at": "2026-06-01T10:05:00Z"}


BAD_BODIES = [
    b"not json at all",
    b"{",
    b"[]",
    b'"a string"',
    b"null",
    b'{"records": "many"}',
    b'{"records": [1, 2, 3]}',
    b'{"records": [{"record_id": [], "iccid": {}, "bytes_up": "lots"}]}',
    b'{"records": [{"record_id": "r", "iccid": "1", "bytes_up": -1, "bytes_down": 1e400,'
    b' "started_at": "yesterday", "ended_at": 5}]}',
    b'{"records": [' + b"[" * 5000 + b"]" * 5000 + b"]}",
    "{\"records\": \"\u0000\"}".encode(),
    b"\xff\xfe\xfa not utf-8",
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_the_usage_api_answers_malformed_json_with_a_problem(operator, body):
    """A body that is not a batch is a problem; a batch of bad records is taken apart
    record by record (each rejected with its reason, nothing applied)."""
    response = operator.post("/api/v1/usage", body, content_type="application/json")

    if response.status_code == 200:
        answer = response.json()
        assert answer["applied"] == 0 and answer["rejected"] == answer["received"] > 0
        assert all(error["reason"] for error in answer["errors"])
    else:
        assert_problem(response, 400, 415, 422)


def test_a_usage_batch_over_the_limit_is_refused_whole(operator):
    body = json.dumps({"records": [record(i) for i in range(MAX_RECORDS + 1)]})

    assert_problem(operator.post("/api/v1/usage", body, content_type="application/json"),
                   400, 413, 422)


def test_a_body_over_the_upload_limit_is_refused(operator, settings):
    body = b'{"records": [' + b'"' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b'"]}'

    assert_problem(operator.post("/api/v1/usage", body, content_type="application/json"), 413)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("patch", "/api/v1/me", {"language": ["en"], "time_zone": 12}),
    ("patch", "/api/v1/me", {"time_zone": "x" * 100_000}),
    ("post", "/api/v1/tokens", {"name": "\x00"}),
    ("post", "/api/v1/tokens", {"name": "t" * 10_000}),
    ("post", "/api/v1/cards/claim", {"iccid": 8944500100000000017, "claim_code": None}),
    ("post", "/api/v1/orders", {"plan": {"code": "x"}, "card_id": "not-a-uuid",
                                "currency": 840}),
    ("put", "/api/v1/me/notifications", [{"x": 1}] * 20_000),
])
def test_customer_operations_answer_wrong_types_with_a_problem(customer, method, path, body):
    response = getattr(customer, method)(path, json.dumps(body), content_type="application/json")

    assert_problem(response, 400, 404, 405, 422)


@pytest.mark.parametrize("gateway", ["sandbox", "stripe", "paypal", "alipay"])
def test_a_webhook_body_over_the_limit_is_413(client, gateway):
    response = client.post(f"/webhooks/{gateway}/", b"x" * (MAX_BODY_BYTES + 1),
                           content_type="application/json")

    assert_problem(response, 413)


FORM_VALUES = ["nul \x00 byte", "x" * 200_000]


@pytest.mark.parametrize("value", FORM_VALUES, ids=["nul", "long"])
@pytest.mark.parametrize("url", ["/accounts/login/", "/accounts/signup/",
                                 "/accounts/password/reset/", "/support/new/", "/cards/add/",
                                 "/settings/", "/settings/tokens/", "/language/"])
def test_forms_answer_bad_text_with_a_message_not_a_500(alice, url, value):
    client = Client(raise_request_exception=False)
    if url not in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        client.force_login(alice)
    fields = {name: value for name in ("login", "email", "password", "password1", "password2",
                                       "subject", "body", "iccid", "claim_code", "name",
                                       "language", "time_zone", "next")}

    response = client.post(url, fields)

    assert response.status_code < 500, (url, response.status_code)
    if response.status_code == 200:  # the form again, saying what is wrong
        assert b'class="error' in response.content or b"errorlist" in response.content


@pytest.mark.parametrize("url", ["/accounts/login/", "/support/new/", "/cards/add/"])
def test_forms_answer_bytes_that_are_not_utf8_without_a_500(alice, url):
    client = Client(raise_request_exception=False)
    client.force_login(alice)

    response = client.generic("POST", url, b"subject=%FF%FE&body=%C0%AF&login=%ED%A0%80",
                              content_type="application/x-www-form-urlencoded")

    assert response.status_code < 500, response.status_code


def test_no_api_operation_answers_nul_characters_with_a_500(now, alice, make_user):
    """Every operation of the served OpenAPI document, called by the right kind of caller
    with NUL in every string of a body (and query) it accepts: a 4xx problem, never a
    500 (PostgreSQL refuses NUL in text)."""
    from simdesk.accounts.tokens import token_create
    from simdesk.api.keys import operator_key_create
    from simdesk.api.models import OperatorScope
    from tests.api import test_access_matrix as matrix

    _token, customer = token_create(user=alice, name="nul", now=now)
    staff = make_user("ops@example.com", is_staff=True)
    _key, operator = operator_key_create(name="nul", scopes=OperatorScope.values,
                                         created_by=staff, now=now)
    plain_example = matrix.example

    def nul_example(schema, components):
        value = plain_example(schema, components)
        return _with_nul(value)

    ids = {"card_id": "a\x00b", "order_id": "a\x00b", "token_id": "a\x00b", "code": "a\x00b",
           "period_id": "a\x00b"}
    failures = []
    matrix.example = nul_example
    try:
        for method, path, operation, components in matrix.load_operations():
            schemes = matrix.schemes(operation)
            token = operator if "OperatorKeyAuth" in schemes else customer
            client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", raise_request_exception=False)
            response = matrix.call(client, method, path, operation, components, ids)
            if response.status_code >= 500:
                failures.append((method, path, response.status_code))
    finally:
        matrix.example = plain_example
    assert failures == [], failures


def _with_nul(value):
    if isinstance(value, str):
        return value[:1] + "\x00" + value[1:]
    if isinstance(value, dict):
        return {k: _with_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_nul(v) for v in value]
    return value
