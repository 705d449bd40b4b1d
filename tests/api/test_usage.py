"""POST /api/v1/usage: operator systems send usage records in batches."""

import json
from datetime import timedelta

import pytest
from django.test import Client

from simdesk.api.keys import operator_key_create
from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import LedgerEntry, LedgerKind, Period
from simdesk.usage.ledger_check import usage_violations
from simdesk.usage.models import RatingCursor, Record

pytestmark = pytest.mark.django_db

MB = 1_000_000


@pytest.fixture
def staff(make_user):
    return make_user("ops@example.com", is_staff=True)


@pytest.fixture
def operator(staff, now):
    """operator(*scopes) → (a client sending a fresh key with those scopes, the key)."""

    def make(*scopes):
        key, token = operator_key_create(name="mediation", scopes=scopes, created_by=staff,
                                         now=now)
        return Client(HTTP_AUTHORIZATION=f"Bearer {token}"), key

    return make


@pytest.fixture
def sim(alice_card):
    """alice's card (3 GB active) with an IMSI and an MSISDN."""
    alice_card.imsi, alice_card.msisdn = "234150000000001", "447700900001"
    alice_card.save()
    return alice_card


def rated(source):
    """Record ids of ``source`` that have been applied to their cards."""
    through = RatingCursor.objects.get(pk=1).through
    return set(Record.objects.filter(source__name=source, pk__lte=through)
               .values_list("record_id", flat=True))


def usage_debited(card):
    return -sum(LedgerEntry.objects.filter(card=card, kind=LedgerKind.DEBIT_USAGE)
                .values_list("bytes", flat=True))


def record(record_id, mb=1, *, at, **card):
    return {"record_id": record_id, **card, "bytes_up": mb * MB // 4,
            "bytes_down": mb * MB - mb * MB // 4,
            "started_at": (at - timedelta(minutes=10)).isoformat(), "ended_at": at.isoformat()}


def post(client, records, **extra):
    return client.post("/api/v1/usage", json.dumps({"records": records, **extra}),
                       content_type="application/json")


def test_it_rates_records_naming_the_card_by_any_identifier(operator, sim, at_now):
    client, key = operator("usage:write")
    response = post(client, [record("a", 100, at=at_now, iccid=sim.iccid),
                             record("b", 20, at=at_now, imsi="234150000000001"),
                             record("c", 3, at=at_now, msisdn="+44 7700 900001")])

    assert response.status_code == 200, response.content
    body = response.json()
    assert body == {"source": f"key-{key.prefix}", "received": 3, "applied": 3,
                    "duplicates": 0, "unknown_cards": 0, "rejected": 0, "errors": []}
    period = Period.objects.get(card=sim)
    assert period.used_bytes == 123 * MB
    assert rated(f"key-{key.prefix}") == {"a", "b", "c"}
    assert usage_debited(sim) == 123 * MB
    assert list(ledger_violations()) == []
    assert list(usage_violations()) == []


def test_sending_a_batch_again_counts_nothing_twice(operator, sim, at_now):
    client, _key = operator("usage:write")
    batch = [record("a", 100, at=at_now, iccid=sim.iccid),
             record("b", 20, at=at_now, iccid=sim.iccid)]
    post(client, batch, source="mediation-1")
    response = post(client, [*batch, record("c", 1, at=at_now, iccid=sim.iccid)],
                    source="mediation-1")

    body = response.json()
    assert (body["applied"], body["duplicates"]) == (1, 2)
    assert Period.objects.get(card=sim).used_bytes == 121 * MB
    assert rated("mediation-1") == {"a", "b", "c"}
    assert usage_debited(sim) == 121 * MB


def test_the_same_record_id_from_another_source_is_another_record(operator, sim, at_now):
    client, _key = operator("usage:write")
    post(client, [record("a", 10, at=at_now, iccid=sim.iccid)], source="gw-1")
    body = post(client, [record("a", 10, at=at_now, iccid=sim.iccid)], source="gw-2").json()

    assert body["applied"] == 1
    assert Period.objects.get(card=sim).used_bytes == 20 * MB
    assert rated("gw-1") == rated("gw-2") == {"a"}


def test_it_names_each_record_it_could_not_rate_and_rates_the_rest(operator, sim, at_now):
    client, _key = operator("usage:write")
    good = record("good", 5, at=at_now, iccid=sim.iccid)
    response = post(client, [
        record("nobody", 1, at=at_now, imsi="999999999999999"),
        good,
        {**good, "record_id": "negative", "bytes_up": -1},
        {**good, "record_id": "naive", "ended_at": "2026-06-01T12:00:00"},
        {**good, "record_id": "backwards", "started_at": (at_now + timedelta(hours=1)).isoformat()},
        {**good, "record_id": "two-cards", "imsi": "234150000000001"},
        {**good, "record_id": ""},
        "not an object",
    ])

    assert response.status_code == 200
    body = response.json()
    assert (body["received"], body["applied"], body["unknown_cards"], body["rejected"]) == (
        8, 1, 1, 6)
    errors = {(e["index"], e["record_id"], e["code"]) for e in body["errors"]}
    assert errors == {(0, "nobody", "unknown_card"), (2, "negative", "invalid_record"),
                      (3, "naive", "invalid_record"), (4, "backwards", "invalid_record"),
                      (5, "two-cards", "invalid_record"), (6, "", "invalid_record"),
                      (7, "", "invalid_record")}
    reasons = {e["record_id"]: e["reason"] for e in body["errors"]}
    assert "IMSI" in reasons["nobody"]
    assert "bytes_up" in reasons["negative"]
    assert "time zone" in reasons["naive"]
    assert "ends before it starts" in reasons["backwards"]
    assert "exactly one of iccid, imsi or msisdn" in reasons["two-cards"]
    assert Period.objects.get(card=sim).used_bytes == 5 * MB
    assert set(Record.objects.values_list("record_id", flat=True)) == {"good"}


def test_a_key_without_the_usage_scope_is_refused(operator, sim, at_now):
    client, _key = operator("cards:read")
    response = post(client, [record("a", 1, at=at_now, iccid=sim.iccid)])

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "insufficient_scope"
    assert not Record.objects.exists()


def test_no_key_is_401(sim, at_now):
    response = post(Client(), [record("a", 1, at=at_now, iccid=sim.iccid)])
    assert response.status_code == 401


def test_more_than_10000_records_are_refused_with_a_clear_problem(operator, sim, at_now):
    client, _key = operator("usage:write")
    one = record("a", 1, at=at_now, iccid=sim.iccid)
    response = post(client, [{**one, "record_id": f"r{n}"} for n in range(10_001)])

    assert response.status_code == 413
    problem = response.json()
    assert problem["code"] == "too_many_records"
    assert "10000" in problem["detail"] and "10001" in problem["detail"]
    assert not Record.objects.exists()


def test_a_body_without_records_is_a_400_naming_the_field(operator, at_now):
    client, _key = operator("usage:write")
    response = client.post("/api/v1/usage", json.dumps({"source": "x"}),
                           content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "records"


def test_a_source_with_a_colon_is_refused_so_two_sources_never_share_a_record_name(
        operator, sim, at_now):
    # "a:b" with record "c" and "a" with record "b:c" would both be usage:a:b:c.
    client, _key = operator("usage:write")
    response = post(client, [record("c", 1, at=at_now, iccid=sim.iccid)], source="a:b")

    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "invalid_source"
    assert "colon" in problem["detail"]
    assert not Record.objects.exists()
