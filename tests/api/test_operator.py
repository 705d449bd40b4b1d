"""Operator operations with scoped API keys: lookup, suspend/resume, import, order lookup."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from simdesk.api.keys import operator_key_create, operator_key_revoke
from simdesk.api.models import OperatorApiKey
from simdesk.cards.iccid import iccid_with_check_digit
from simdesk.cards.models import Card, CardEvent, CardState, NetworkAction
from simdesk.cards.services import period_create
from simdesk.orders.services import order_create
from tests.orders.conftest import card, make_card, make_plan, plan  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_user):
    return make_user("ops@example.com", is_staff=True)


@pytest.fixture
def operator(staff, now):
    """operator(*scopes) → a client sending a fresh key with those scopes."""

    def make(*scopes):
        _key, token = operator_key_create(name="billing system", scopes=scopes,
                                          created_by=staff, now=now)
        return Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    return make


@pytest.fixture
def sim(make_card, alice):  # noqa: F811
    """alice's card with an IMSI and an MSISDN."""
    return make_card(owner=alice, imsi="234150000000001", msisdn="447700900001")


@pytest.mark.parametrize("query", ["iccid={iccid}", "imsi=234150000000001",
                                   "msisdn=%2B447700900001"])
def test_it_finds_a_card_by_each_identifier(operator, sim, alice, query):
    response = operator("cards:read").get(
        "/api/v1/operator/cards/lookup?" + query.format(iccid=sim.iccid))

    assert response.status_code == 200
    data = response.json()
    assert data["id"] == str(sim.public_id)
    assert (data["iccid"], data["imsi"], data["msisdn"]) == (sim.iccid, sim.imsi, sim.msisdn)
    assert data["owner"] == str(alice.public_id)


def test_it_answers_404_for_an_unknown_identifier(operator, sim):
    response = operator("cards:read").get("/api/v1/operator/cards/lookup?imsi=999999999999999")

    assert response.status_code == 404
    assert response.json()["code"] == "card_not_found"


def test_it_wants_exactly_one_identifier(operator, sim):
    client = operator("cards:read")

    assert client.get("/api/v1/operator/cards/lookup").json()["code"] == "one_identifier"
    both = client.get(f"/api/v1/operator/cards/lookup?iccid={sim.iccid}&imsi={sim.imsi}")
    assert both.status_code == 400


def test_it_refuses_a_key_without_the_scope_with_403(operator, sim):
    response = operator("orders:read").get(f"/api/v1/operator/cards/lookup?iccid={sim.iccid}")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "insufficient_scope"


@pytest.mark.parametrize("path", ["/operator/cards/{card}/suspend",
                                  "/operator/cards/{card}/resume", "/operator/cards/import"])
def test_it_refuses_mutations_to_a_read_only_key(operator, sim, path):
    response = operator("cards:read").post("/api/v1" + path.format(card=sim.public_id),
                                           "iccid,claim_code\n", content_type="text/csv")

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    sim.refresh_from_db()
    assert sim.state == CardState.INACTIVE


def test_it_refuses_a_revoked_key_with_401(staff, sim, now):
    key, token = operator_key_create(name="old", scopes=["cards:read"], created_by=staff,
                                     now=now)
    operator_key_revoke(key=key, now=now)

    response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get(
        f"/api/v1/operator/cards/lookup?iccid={sim.iccid}")

    assert response.status_code == 401


@pytest.mark.parametrize("header", ["Bearer sdo_nothere_secret", "Bearer garbage", ""])
def test_it_refuses_an_unknown_or_missing_key_with_401(sim, header):
    client = Client(HTTP_AUTHORIZATION=header) if header else Client()

    response = client.get(f"/api/v1/operator/cards/lookup?iccid={sim.iccid}")

    assert response.status_code == 401


def test_it_refuses_a_key_whose_secret_is_wrong(operator, staff, sim, now):
    _key, token = operator_key_create(name="k", scopes=["cards:read"], created_by=staff,
                                      now=now)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    response = Client(HTTP_AUTHORIZATION=f"Bearer {forged}").get(
        f"/api/v1/operator/cards/lookup?iccid={sim.iccid}")

    assert response.status_code == 401


def test_it_refuses_a_customer_token_on_operator_operations(alice_api, sim):
    response = alice_api.get(f"/api/v1/operator/cards/lookup?iccid={sim.iccid}")

    assert response.status_code == 401


def test_it_suspends_and_resumes_a_card(operator, sim, plan, now):  # noqa: F811
    period_create(card=sim, plan=plan, source="test:first", now=timezone.now())
    sim.refresh_from_db()
    assert sim.state == CardState.ACTIVE
    client = operator("cards:admin")

    suspended = client.post(f"/api/v1/operator/cards/{sim.public_id}/suspend"
                            "?reason=fraud+check")
    again = client.post(f"/api/v1/operator/cards/{sim.public_id}/suspend")

    assert suspended.status_code == 200 and suspended.json()["state"] == "suspended"
    assert again.status_code == 200 and again.json()["state"] == "suspended"
    assert list(NetworkAction.objects.filter(card=sim).values_list("action", flat=True)) \
        == ["suspend"]
    event = CardEvent.objects.filter(card=sim, to_state="suspended").get()
    assert "billing system" in event.note and "fraud check" in event.note

    resumed = client.post(f"/api/v1/operator/cards/{sim.public_id}/resume")

    assert resumed.status_code == 200
    assert resumed.json()["state"] == "active"
    assert sorted(NetworkAction.objects.filter(card=sim).values_list("action", flat=True)) \
        == ["resume", "suspend"]


def test_it_resumes_a_card_without_a_period_as_inactive(operator, sim):
    client = operator("cards:admin")
    client.post(f"/api/v1/operator/cards/{sim.public_id}/suspend")

    response = client.post(f"/api/v1/operator/cards/{sim.public_id}/resume")

    assert response.json()["state"] == "inactive"


def test_it_refuses_to_suspend_a_terminated_card(operator, sim, now):
    sim.terminate(at=now)

    response = operator("cards:admin").post(f"/api/v1/operator/cards/{sim.public_id}/suspend")

    assert response.status_code == 409
    assert response.json()["code"] == "card_terminated"


def test_it_answers_404_for_an_unknown_card(operator):
    response = operator("cards:admin").post(
        "/api/v1/operator/cards/00000000-0000-0000-0000-000000000000/suspend")

    assert response.status_code == 404


def test_it_imports_cards_and_reports_a_bad_row(operator):
    good = iccid_with_check_digit("894470029900000001")
    csv = f"iccid,claim_code,imsi\n{good},CLAIM123,234150000000077\n12345,CLAIM456,\n"

    response = operator("cards:admin").post("/api/v1/operator/cards/import", csv,
                                            content_type="text/csv")

    assert response.status_code == 200
    report = response.json()
    assert (report["total"], report["created"], report["failed_lines"]) == (2, 1, 1)
    assert report["ok"] is False
    assert report["errors"][0]["line"] == 3
    assert report["errors"][0]["column"] == "iccid"
    assert Card.objects.filter(iccid=good, imsi="234150000000077").exists()


def test_it_refuses_an_empty_import(operator):
    response = operator("cards:admin").post("/api/v1/operator/cards/import", "",
                                            content_type="text/csv")

    assert response.status_code == 400
    assert response.json()["code"] == "empty_body"


@pytest.mark.parametrize("body", ["{}", "number,code\n1,2\n", b"\xff\xfe\x00iccid",
                                  "iccid,claim_code,activation_code\n8944,C1,LPA:\x00\n"])
def test_it_refuses_a_file_it_cannot_read_with_400(operator, body):
    response = operator("cards:admin").post("/api/v1/operator/cards/import", body,
                                            content_type="text/csv")

    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "invalid_csv"
    assert problem["errors"][0]["field"] == "body"
    assert not Card.objects.exists()


def test_it_shows_any_order_to_a_key_with_orders_read(operator, alice, card, plan):  # noqa: F811
    order = order_create(customer=alice, card=card, plan=plan, currency="USD",
                         idempotency_key="k1", now=timezone.now())

    response = operator("orders:read").get(f"/api/v1/operator/orders/{order.public_id}")
    refused = operator("cards:read").get(f"/api/v1/operator/orders/{order.public_id}")

    assert response.status_code == 200
    assert response.json()["customer_email"] == alice.email
    assert response.json()["total_minor"] == 1200
    assert refused.status_code == 403


def test_it_notes_when_a_key_was_last_used(operator, sim):
    operator("cards:read").get(f"/api/v1/operator/cards/lookup?iccid={sim.iccid}")

    assert OperatorApiKey.objects.get().last_used_at is not None


def test_it_rate_limits_a_key_with_429_and_retry_after(operator, sim, settings):
    settings.API_RATE_LIMIT = "2/m"
    client = operator("cards:read")
    url = f"/api/v1/operator/cards/lookup?iccid={sim.iccid}"

    # Frozen clock: the three calls fall in one rate window whatever the wall time.
    with time_machine.travel(datetime(2026, 6, 1, 12, 0, 10, tzinfo=UTC), tick=False):
        statuses = [client.get(url).status_code for _ in range(3)]
        retry_after = client.get(url)["Retry-After"]

    assert statuses == [200, 200, 429]
    assert int(retry_after) == 50
