"""Pausing and resuming a card over the API: only your own card, refusals as problems."""

from datetime import timedelta

import pytest
from django.test import Client

from simdesk.cards.models import CardState, Period

from .test_session import session_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def pausable(alice_card):
    """alice's Japan period was sold pausable for up to 5 days."""
    Period.objects.filter(card=alice_card).update(pausable=True, max_pause_days=5)
    return alice_card


def url(card, what):
    return f"/api/v1/cards/{card.public_id}/{what}"


def test_it_pauses_and_resumes_the_callers_card(alice_api, pausable, now, at_now, time_machine):
    end_before = Period.objects.get(card=pausable).ends_at

    response = alice_api.post(url(pausable, "pause"))

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == CardState.PAUSED
    assert body["card"] == str(pausable.public_id)
    assert body["max_pause_days"] == 5
    assert body["resumes_at"].startswith("2026-06-06T12:00:00")

    time_machine.move_to(now + timedelta(hours=30), tick=False)
    response = alice_api.post(url(pausable, "resume"))

    assert response.status_code == 200
    assert response.json()["state"] == CardState.ACTIVE
    assert response.json()["paused_at"] is None
    assert response.json()["pause_left_seconds"] == 5 * 86400 - 30 * 3600
    assert Period.objects.get(card=pausable).ends_at == end_before + timedelta(hours=30)


def test_it_refuses_a_plan_that_cannot_be_paused_with_a_problem(alice_api, alice_card, at_now):
    response = alice_api.post(url(alice_card, "pause"))

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_pausable"
    assert response.json()["detail"] == "The plan on this card cannot be paused."


def test_it_refuses_to_pause_twice_and_to_resume_a_card_not_paused(alice_api, pausable, at_now):
    assert alice_api.post(url(pausable, "resume")).json()["code"] == "not_paused"
    assert alice_api.post(url(pausable, "pause")).status_code == 200

    response = alice_api.post(url(pausable, "pause"))

    assert response.status_code == 409
    assert response.json()["code"] == "already_paused"


def test_it_answers_404_for_another_customers_card(alice_api, bob_card, at_now):
    Period.objects.filter(card=bob_card).update(pausable=True, max_pause_days=5)

    for what in ("pause", "resume"):
        response = alice_api.post(url(bob_card, what))
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
    bob_card.refresh_from_db()
    assert bob_card.state == CardState.ACTIVE


def test_it_needs_credentials_and_the_csrf_token_with_a_session(alice, pausable, at_now):
    assert Client().post(url(pausable, "pause")).status_code == 401

    response = session_client(alice, with_csrf=False).post(url(pausable, "pause"))
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"

    response = session_client(alice, with_csrf=True).post(url(pausable, "pause"))
    assert response.status_code == 200



def test_it_says_whether_and_how_long_a_card_can_be_paused(alice_api, pausable, bob_card,
                                                           at_now):
    body = alice_api.get(url(pausable, "pause")).json()

    assert body["can_pause"] is True and body["can_resume"] is False
    assert body["max_pause_days"] == 5 and body["pause_left_seconds"] == 5 * 86400
    assert body["refusal"] == ""
    assert alice_api.get(url(bob_card, "pause")).status_code == 404


def test_it_says_why_a_card_cannot_be_paused(alice_api, alice_card, at_now):
    body = alice_api.get(url(alice_card, "pause")).json()

    assert body["can_pause"] is False
    assert body["refusal"] == "The plan on this card cannot be paused."
