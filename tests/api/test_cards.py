"""The customer's cards over the API: only their own, with an exact balance."""

import pytest
from django.test import Client

from simdesk.cards.services.usage import card_debit_usage

GB = 1_000_000_000
MB = 1_000_000


def card_urls(card):
    base = f"/api/v1/cards/{card.public_id}"
    return [base, f"{base}/balance", f"{base}/periods", f"{base}/usage?days=7"]


def test_it_lists_only_the_callers_cards(alice_api, alice_card, bob_card, at_now):
    response = alice_api.get("/api/v1/cards")

    assert response.status_code == 200
    body = response.json()
    assert [card["id"] for card in body["items"]] == [str(alice_card.public_id)]
    assert body["items"][0]["iccid"] == alice_card.iccid
    assert body["next_cursor"] is None


def test_it_shows_the_balance_in_integer_bytes(alice_api, alice_card, now, at_now):
    card_debit_usage(card=alice_card, bytes=250 * MB, reference="session-1", at=now,
                     now=now)

    response = alice_api.get(f"/api/v1/cards/{alice_card.public_id}")

    assert response.status_code == 200
    balance = response.json()["balance"]
    assert balance["remaining_bytes"] == 3 * GB - 250 * MB
    assert balance["total_bytes"] == 3 * GB
    assert balance["unlimited"] is False
    assert balance["valid_until"].startswith("2026-06-08")
    assert balance["next_queued"] is None


def test_it_answers_the_balance_alone_with_the_same_figures(alice_api, alice_card, now,
                                                           at_now):
    card_debit_usage(card=alice_card, bytes=1, reference="session-1", at=now, now=now)

    response = alice_api.get(f"/api/v1/cards/{alice_card.public_id}/balance")

    assert response.status_code == 200
    assert response.json()["remaining_bytes"] == 3 * GB - 1
    assert response.json() == alice_api.get(
        f"/api/v1/cards/{alice_card.public_id}").json()["balance"]


def test_a_token_call_for_the_balance_reads_the_database_twice(
        alice_api, alice_card, at_now, django_assert_num_queries):
    url = f"/api/v1/cards/{alice_card.public_id}/balance"
    alice_api.get(url)  # the first call notes the token's last use

    # The token with its user, then the card with its open periods: no more, however
    # many periods are open (the balance endpoint runs on every poll of every client).
    with django_assert_num_queries(2):
        response = alice_api.get(url)

    assert response.status_code == 200


def test_it_filters_cards_and_periods_by_state(alice_api, alice_card, plan, now, at_now):
    from simdesk.cards.services.periods import period_create

    period_create(card=alice_card, plan=plan, source="test-order-3", now=now)
    base = f"/api/v1/cards/{alice_card.public_id}/periods"

    queued = alice_api.get(f"{base}?state=queued").json()["items"]
    active = alice_api.get(f"{base}?state=active").json()["items"]

    assert [p["state"] for p in queued] == ["queued"]
    assert [p["state"] for p in active] == ["active"]
    assert alice_api.get("/api/v1/cards?state=active").json()["items"][0]["id"] == str(
        alice_card.public_id)
    assert alice_api.get("/api/v1/cards?state=suspended").json()["items"] == []
    assert alice_api.get("/api/v1/cards?state=nope").json()["errors"][0]["field"] == "state"


def test_it_shows_the_next_queued_plan(alice_api, alice_card, plan, now, at_now):
    from simdesk.cards.services.periods import period_create

    period_create(card=alice_card, plan=plan, source="test-order-3", now=now)

    balance = alice_api.get(f"/api/v1/cards/{alice_card.public_id}").json()["balance"]

    assert balance["queued_count"] == 1
    assert balance["next_queued"]["plan_code"] == "japan-3gb-7d"
    assert balance["next_queued"]["name"] == "Japan 3 GB"


def test_it_lists_the_periods_of_a_card(alice_api, alice_card, at_now):
    response = alice_api.get(f"/api/v1/cards/{alice_card.public_id}/periods")

    assert response.status_code == 200
    [period] = response.json()["items"]
    assert period["plan_code"] == "japan-3gb-7d"
    assert period["state"] == "active"
    assert period["remaining_bytes"] == 3 * GB


def test_it_reports_usage_by_day(alice_api, alice_card, now, at_now):
    card_debit_usage(card=alice_card, bytes=40 * MB, reference="session-1", at=now,
                     now=now)

    response = alice_api.get(f"/api/v1/cards/{alice_card.public_id}/usage?days=3")

    assert response.status_code == 200
    body = response.json()
    assert body["time_zone"] == "UTC"
    assert [(day["day"], day["used_bytes"]) for day in body["days"]] == [
        ("2026-05-30", 0), ("2026-05-31", 0), ("2026-06-01", 40 * MB)]


def test_it_answers_404_on_every_card_endpoint_for_another_customers_card(
        alice_api, bob_card, at_now):
    for url in card_urls(bob_card):
        response = alice_api.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found"


def test_it_answers_404_for_a_malformed_card_id(alice_api, at_now):
    for url in ["/api/v1/cards/42", "/api/v1/cards/x/periods", "/api/v1/cards/1/usage"]:
        assert alice_api.get(url).status_code == 404, url


def test_it_claims_a_card_with_its_iccid_and_code(alice_api, make_user, plan, now, at_now):
    from simdesk.cards.iccid import iccid_with_check_digit
    from simdesk.cards.models import Card

    card = Card(iccid=iccid_with_check_digit("894450010000000003"))
    card.set_claim_code("QRS456")
    card.save()

    response = alice_api.post("/api/v1/cards/claim",
                              {"iccid": card.iccid, "claim_code": "qrs-456"},
                              content_type="application/json")

    assert response.status_code == 200
    assert response.json()["id"] == str(card.public_id)
    card.refresh_from_db()
    assert card.owner.email == "alice@example.com"


def test_it_gives_the_same_answer_for_an_unknown_card_and_a_wrong_code(
        alice_api, bob_card, at_now):
    unknown = alice_api.post("/api/v1/cards/claim",
                             {"iccid": "8944500100000099990", "claim_code": "XYZ789"},
                             content_type="application/json")
    wrong = alice_api.post("/api/v1/cards/claim",
                           {"iccid": bob_card.iccid, "claim_code": "WRONG1"},
                           content_type="application/json")
    taken = alice_api.post("/api/v1/cards/claim",
                           {"iccid": bob_card.iccid, "claim_code": "XYZ789"},
                           content_type="application/json")

    assert unknown.status_code == wrong.status_code == taken.status_code == 400
    assert unknown.json() == wrong.json() == taken.json()
    assert unknown.json()["code"] == "claim_refused"


@pytest.mark.django_db
def test_it_refuses_card_endpoints_without_credentials(bob_card):
    for url in ["/api/v1/cards", *card_urls(bob_card)]:
        assert Client().get(url).status_code == 401, url
