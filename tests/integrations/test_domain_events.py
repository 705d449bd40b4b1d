"""The domain services announce their facts: each flow below runs the real service and an
endpoint subscribed to everything receives the event, signed, with public ids only."""

import uuid
from datetime import timedelta

import pytest

from simdesk.cards.models import PeriodState
from simdesk.cards.services import (
    card_debit_usage,
    card_resume,
    card_suspend,
    period_create,
    periods_advance,
)
from simdesk.integrations.models import WebhookEvent
from simdesk.renewals.models import AttemptStatus
from simdesk.renewals.services import renewal_attempt
from simdesk.usage.alerts import alerts_check_card
from tests.renewals.conftest import (  # noqa: F401
    DECLINES,
    GB,
    bob,
    card,
    current_period,
    make_card,
    make_plan,
    plan,
    renewing,
    saved_method,
    started,
)

pytestmark = pytest.mark.django_db


def events(type):
    return list(WebhookEvent.objects.filter(type=type).order_by("id"))


def is_uuid(value):
    return str(uuid.UUID(value)) == value


def test_suspending_and_resuming_a_card_announces_both(
        endpoint, receiver, card, alice, now, django_capture_on_commit_callbacks,  # noqa: F811
        time_machine):
    time_machine.move_to(now, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        card_suspend(card=card, reason="fraud check", now=now)
    with django_capture_on_commit_callbacks(execute=True):
        card_suspend(card=card, reason="fraud check again", now=now)  # already suspended
    time_machine.move_to(now + timedelta(hours=1), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        card_resume(card=card, reason="cleared", now=now + timedelta(hours=1))

    assert [r.json["type"] for r in receiver.requests] == ["card.suspended", "card.resumed"]
    assert all(r.signature_ok for r in receiver.requests)
    suspended = receiver.requests[0].json["data"]
    assert suspended == {"card": str(card.public_id), "iccid": card.iccid,
                         "card_state": "suspended", "customer": str(alice.public_id),
                         "reason": "fraud check", "at": now.isoformat()}
    assert receiver.requests[1].json["data"]["card_state"] == "inactive"


def test_a_period_announces_its_activation_and_its_expiry(endpoint, card, plan, now):  # noqa: F811
    period = period_create(card=card, plan=plan, source="test:expiring", now=now)

    [activated] = events("period.activated")
    assert activated.data["period"] == str(period.public_id)
    assert activated.data["card"] == str(card.public_id)
    assert activated.data["total_bytes"] == 5 * GB and activated.data["state"] == "active"
    assert activated.data["ends_at"] == (now + timedelta(days=30)).isoformat()

    later = now + timedelta(days=30, minutes=1)
    periods_advance(card=card, now=later)
    periods_advance(card=card, now=later + timedelta(minutes=1))  # nothing new happens

    [expired] = events("period.expired")
    assert expired.data["period"] == str(period.public_id)
    assert expired.data["state"] == "expired" and expired.data["remaining_bytes"] == 0
    assert expired.data["closed_at"] == (now + timedelta(days=30)).isoformat()
    assert expired.created_at == later


def test_using_up_a_period_announces_it_and_starts_the_queued_one(endpoint, card, plan,  # noqa: F811
                                                                   now):
    first = period_create(card=card, plan=plan, source="test:first", now=now)
    second = period_create(card=card, plan=plan, source="test:second", now=now)
    assert second.state == PeriodState.QUEUED
    used_at = now + timedelta(days=2)

    card_debit_usage(card=card, bytes=5 * GB + 1000, reference="usage:test:1", at=used_at,
                     now=used_at)
    card_debit_usage(card=card, bytes=5 * GB + 1000, reference="usage:test:1", at=used_at,
                     now=used_at)  # the same record again

    [exhausted] = events("period.exhausted")
    assert exhausted.data["period"] == str(first.public_id)
    assert (exhausted.data["remaining_bytes"], exhausted.data["used_bytes"]) == (0, 5 * GB)
    assert exhausted.data["closed_at"] == used_at.isoformat()
    assert [e.data["period"] for e in events("period.activated")] == [
        str(first.public_id), str(second.public_id)]


def test_a_usage_alert_announces_low_data_once(endpoint, card, plan, now):  # noqa: F811
    period_create(card=card, plan=plan, source="test:low", now=now)
    card_debit_usage(card=card, bytes=4 * GB + 250_000_000, reference="usage:test:low",
                     at=now, now=now)

    alerts_check_card(card=card, now=now)
    alerts_check_card(card=card, now=now + timedelta(minutes=5))

    [low] = events("period.low_data")
    assert (low.data["threshold_percent"], low.data["used_percent"]) == (80, 85)
    assert low.data["remaining_bytes"] == 750_000_000
    assert not events("period.exhausted")


def test_a_declined_renewal_announces_the_failure_and_the_next_try(
        endpoint, card, current_period, renewing, now):  # noqa: F811
    renewing(DECLINES)

    attempt = renewal_attempt(card=card, now=now)

    assert attempt.status == AttemptStatus.FAILED
    [failed] = events("renewal.failed")
    data = failed.data
    assert data["renewal"] == str(attempt.public_id) and data["card"] == str(card.public_id)
    assert (data["plan"], data["amount_minor"], data["currency"]) == (plan_code(current_period),
                                                                      1200, "USD")
    assert data["try"] == 1 and data["gave_up"] is False
    assert data["next_attempt_at"] == attempt.next_attempt_at.isoformat()
    assert is_uuid(data["order"]) and data["reason"]
    assert not any(isinstance(v, float) for v in data.values())


def plan_code(period):
    return period.plan_code


def test_nothing_is_recorded_for_these_flows_without_an_endpoint(card, plan, now):  # noqa: F811
    period_create(card=card, plan=plan, source="test:quiet", now=now)
    card_suspend(card=card, reason="check", now=now)

    assert not WebhookEvent.objects.exists()


def test_a_period_that_gets_data_back_and_runs_out_again_announces_both_times(
        endpoint, card, plan, now):  # noqa: F811
    from simdesk.cards.services import period_adjust

    period = period_create(card=card, plan=plan, source="test:again", now=now)
    card_debit_usage(card=card, bytes=5 * GB, reference="usage:test:all", at=now, now=now)
    later = now + timedelta(hours=1)
    period_adjust(period=period, amount=GB, reference="adjustment:test:1", now=later)
    period.refresh_from_db()
    assert period.state == PeriodState.ACTIVE
    period_adjust(period=period, amount=-GB, reference="adjustment:test:2",
                  now=later + timedelta(hours=1))

    assert [e.data["closed_at"] for e in events("period.exhausted")] == [
        now.isoformat(), (later + timedelta(hours=1)).isoformat()]
