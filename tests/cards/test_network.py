"""Asking the network to act on a card: recorded, carried out after commit, retried."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings

from simdesk.cards.models import NetworkAction, NetworkActionStatus
from simdesk.cards.network import (
    NetworkAdapter,
    NetworkResult,
    get_network_adapter,
    network_action_perform,
    network_request,
)
from simdesk.cards.network.services import MAX_ATTEMPTS, network_actions_due, retry_delay
from simdesk.cards.network.simulated import SimulatedNetworkAdapter
from simdesk.cards.network.tasks import network_actions_retry_sweep

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _reset_simulated_failures():
    SimulatedNetworkAdapter.fail_next(0)
    yield
    SimulatedNetworkAdapter.fail_next(0)


def test_it_uses_the_simulated_network_by_default():
    assert isinstance(get_network_adapter(), SimulatedNetworkAdapter)


@override_settings(NETWORK_ADAPTER="tests_network_adapter_that_does_not_exist.Adapter")
def test_it_refuses_an_adapter_that_cannot_be_imported():
    with pytest.raises(ImportError):
        get_network_adapter()


def test_it_records_the_request_and_carries_it_out_after_commit(
        card, now, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        action = network_request(card=card, action="activate", reason="order:17 paid", now=now)
        # Until the transaction commits the network has not been asked.
        assert NetworkAction.objects.get(pk=action.pk).status == NetworkActionStatus.PENDING

    action.refresh_from_db()
    assert action.status == NetworkActionStatus.DONE
    assert action.adapter == "simulated"
    assert action.attempts == 1
    assert action.completed_at is not None
    assert card.iccid in action.detail
    assert action.reason == "order:17 paid"


@pytest.mark.parametrize("kind", ["activate", "suspend", "resume", "disconnect"])
def test_it_carries_out_every_kind_of_action(card, now, kind,
                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        action = network_request(card=card, action=kind, reason="test", now=now)

    action.refresh_from_db()
    assert (action.action, action.status) == (kind, NetworkActionStatus.DONE)


def test_it_refuses_an_unknown_action(card, now):
    with pytest.raises(ValueError):
        network_request(card=card, action="explode", reason="", now=now)
    assert not NetworkAction.objects.exists()


def test_it_asks_nothing_when_the_transaction_rolls_back(
        card, now, django_capture_on_commit_callbacks):
    with (django_capture_on_commit_callbacks(execute=True) as callbacks,
          pytest.raises(RuntimeError), transaction.atomic()):
        network_request(card=card, action="activate", reason="order:1", now=now)
        raise RuntimeError("fulfilment failed")

    assert callbacks == []
    assert not NetworkAction.objects.exists()


def test_it_makes_one_request_per_dedupe_key(card, now):
    first = network_request(card=card, action="activate", reason="a", now=now,
                            dedupe_key="order:9:activate")
    second = network_request(card=card, action="activate", reason="a", now=now,
                             dedupe_key="order:9:activate")

    assert first.pk == second.pk
    assert NetworkAction.objects.count() == 1


def test_it_performs_a_request_once_however_often_the_task_runs(card, now):
    action = network_request(card=card, action="suspend", reason="staff", now=now)

    results = [network_action_perform(action_id=action.pk, now=now) for _ in range(3)]

    assert results == [True, False, False]
    action.refresh_from_db()
    assert action.attempts == 1


def test_it_retries_a_failed_request_with_backoff_until_the_network_answers(card, now):
    # Given the network does not answer the first time
    SimulatedNetworkAdapter.fail_next(1)
    action = network_request(card=card, action="activate", reason="order:3", now=now)

    assert network_action_perform(action_id=action.pk, now=now) is False
    action.refresh_from_db()
    assert action.status == NetworkActionStatus.FAILED
    assert action.next_attempt_at == now + retry_delay(1)
    assert "did not answer" in action.detail

    # Not due before its backoff; done once it is
    assert network_action_perform(action_id=action.pk, now=now + timedelta(seconds=1)) is False
    assert network_action_perform(action_id=action.pk, now=action.next_attempt_at) is True
    action.refresh_from_db()
    assert (action.status, action.attempts) == (NetworkActionStatus.DONE, 2)


@override_settings(NETWORK_SIMULATED_FAIL="reject")
def test_it_does_not_retry_a_request_the_network_refused(card, now):
    action = network_request(card=card, action="resume", reason="", now=now)

    assert network_action_perform(action_id=action.pk, now=now) is False

    action.refresh_from_db()
    assert action.status == NetworkActionStatus.FAILED
    assert action.next_attempt_at is None
    assert not network_actions_due(now=now + timedelta(days=1)).exists()


@override_settings(NETWORK_SIMULATED_FAIL=True)
def test_it_gives_up_after_the_last_attempt(card, now):
    action = network_request(card=card, action="activate", reason="", now=now)
    when = now
    for _ in range(MAX_ATTEMPTS):
        network_action_perform(action_id=action.pk, now=when)
        action.refresh_from_db()
        when = action.next_attempt_at or when

    assert action.attempts == MAX_ATTEMPTS
    assert action.next_attempt_at is None
    assert not network_actions_due(now=now + timedelta(days=1)).exists()


def test_it_records_a_crashing_adapter_as_a_retryable_failure(card, now):
    class Broken(NetworkAdapter):
        name = "broken"

        def card_activate(self, *, card, reference):
            raise KeyError("bug")

        card_suspend = card_resume = card_disconnect = card_activate

    action = network_request(card=card, action="activate", reason="", now=now)

    assert network_action_perform(action_id=action.pk, now=now, adapter=Broken()) is False
    action.refresh_from_db()
    assert action.status == NetworkActionStatus.FAILED
    assert action.next_attempt_at is not None
    assert "KeyError" in action.detail


def test_it_passes_the_request_reference_to_the_adapter(card, now):
    seen = []

    class Recording(NetworkAdapter):
        name = "recording"

        def card_activate(self, *, card, reference):
            seen.append((card.iccid, reference))
            return NetworkResult(detail="ok", external_id="net-1")

        card_suspend = card_resume = card_disconnect = card_activate

    action = network_request(card=card, action="activate", reason="", now=now)
    network_action_perform(action_id=action.pk, now=now, adapter=Recording())

    action.refresh_from_db()
    assert seen == [(card.iccid, str(action.public_id))]
    assert action.detail == "ok [net-1]"
    assert action.adapter == "recording"


def test_the_sweep_carries_out_requests_whose_task_was_lost(card, now, time_machine):
    action = network_request(card=card, action="disconnect", reason="out of data", now=now)
    time_machine.move_to(now + timedelta(minutes=1))

    assert network_actions_retry_sweep.call() == 1

    action.refresh_from_db()
    assert action.status == NetworkActionStatus.DONE
    assert network_actions_retry_sweep.call() == 0


@override_settings(NETWORK_SIMULATED_FAIL="reject")
def test_staff_can_ask_again_for_a_refused_request(card, now,
                                                   django_capture_on_commit_callbacks):
    from simdesk.cards.network.services import network_action_retry

    action = network_request(card=card, action="activate", reason="", now=now)
    network_action_perform(action_id=action.pk, now=now)

    with override_settings(NETWORK_SIMULATED_FAIL=False), \
            django_capture_on_commit_callbacks(execute=True):
        assert network_action_retry(action=action, now=now) is True

    action.refresh_from_db()
    assert action.status == NetworkActionStatus.DONE
    assert network_action_retry(action=action, now=now) is False  # done: nothing to retry


def test_staff_see_the_network_requests_in_the_back_office(card, now, client, make_user):
    from django.urls import reverse

    network_request(card=card, action="suspend", reason="suspended by staff", now=now)
    client.force_login(make_user("staff@example.com", is_staff=True, is_superuser=True))

    page = client.get(reverse("admin:cards_networkaction_changelist")).content.decode()

    assert card.iccid in page
    assert "suspended by staff" in page
