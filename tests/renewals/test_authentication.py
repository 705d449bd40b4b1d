"""When the bank asks the customer to confirm a renewal charge: the attempt waits, the
customer is e-mailed a link to a portal page that leads to the bank, and the gateway's
webhook completes the renewal; a failed confirmation or a window that passes is a
decline. Driven end to end with the sandbox's "needs authentication" test card."""

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.core import mail

from simdesk.cards.models import Period, PeriodState
from simdesk.orders.models import OrderStatus
from simdesk.payments.gateways.sandbox.models import SandboxCharge
from simdesk.payments.models import PaymentStatus
from simdesk.renewals.models import AttemptStatus, RenewalAttempt
from simdesk.renewals.tasks import renewal_retries_sweep, renewals_due_sweep

pytestmark = pytest.mark.django_db

AUTHENTICATES = "4000002500003155"
LINK = re.compile(r"https?://[^\s\"]+/payments/([0-9a-f-]{36})/authenticate/")


@pytest.fixture
def held_back(card, current_period, renewing, time_machine, now,
              django_capture_on_commit_callbacks):
    """alice's renewal charge is due now and her bank holds it for her confirmation;
    returns the path of the link she was e-mailed."""
    renewing(AUTHENTICATES)
    time_machine.move_to(now)
    with django_capture_on_commit_callbacks(execute=True):
        assert renewals_due_sweep.call() == 1
    [email] = [m for m in mail.outbox if "Confirm your card's renewal" in m.subject]
    return urlparse(LINK.search(email.body).group(0)).path


def bank_link(page: str) -> str:
    return re.search(r'href="([^"]+)">Confirm with your bank', page).group(1)


def renewed_periods(card):
    return Period.objects.filter(card=card).exclude(source__startswith="test:")


def test_the_renewal_waits_for_the_customer_and_e_mails_a_link_that_says_what_to_confirm(
        held_back, card, alice, current_period, client):
    # Then the attempt waits until the period ends, nothing renewed yet
    attempt = RenewalAttempt.objects.get()
    assert attempt.status == AttemptStatus.AWAITING_AUTHENTICATION
    assert attempt.authenticate_by == current_period.ends_at
    assert attempt.order.status == OrderStatus.PENDING_PAYMENT
    assert attempt.order.payment.status == PaymentStatus.REQUIRES_ACTION
    assert not renewed_periods(card).exists()
    assert not [m for m in mail.outbox if "could not renew" in m.subject]
    [email] = [m for m in mail.outbox if "Confirm your card's renewal" in m.subject]
    assert card.iccid in email.body and "$12.00" in email.body and "Visa 3155" in email.body
    assert "/renewal/off/" in email.body
    assert email.alternatives and held_back in email.alternatives[0][0]

    # When alice opens the link signed in
    client.force_login(alice)
    page = client.get(held_back).content.decode()

    # Then it names the plan, the card, the method and the amount, and leads to the bank
    assert "Plan europe-5gb-30d" in page and card.iccid in page
    assert "Visa 3155" in page and "$12.00" in page
    charge = SandboxCharge.objects.get()
    assert bank_link(page) == f"/sandbox/pay/{charge.public_id}/authenticate"


def test_confirming_at_the_bank_renews_the_card_once_through_the_webhook(
        held_back, card, alice, current_period, client, now, time_machine,
        django_capture_on_commit_callbacks):
    client.force_login(alice)
    to_bank = bank_link(client.get(held_back).content.decode())

    # When alice confirms on the bank's page (the sandbox then sends its signed webhook)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(to_bank, {"action": "confirm"})

    # Then the renewal completes as an immediate success would: one queued period
    attempt = RenewalAttempt.objects.get()
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert attempt.order.status == OrderStatus.FULFILLED
    [period] = renewed_periods(card)
    assert period.state == PeriodState.QUEUED and period == attempt.order.period
    assert any("was renewed" in m.subject for m in mail.outbox)
    assert "your card is renewed" in client.get(held_back).content.decode()

    # And nothing renews it again: later sweeps, a repeated webhook, a late retry run
    from simdesk.payments.gateways.sandbox.services import sandbox_event_emit
    with django_capture_on_commit_callbacks(execute=True):
        sandbox_event_emit(charge=SandboxCharge.objects.get(), now=now)
        time_machine.move_to(now + timedelta(hours=13))
        renewals_due_sweep.call()
        renewal_retries_sweep.call()
    assert renewed_periods(card).count() == 1


def test_a_window_that_passes_without_confirmation_is_a_decline_with_dunning(
        held_back, card, alice, current_period, client, time_machine,
        django_capture_on_commit_callbacks):
    # Given alice does nothing; nothing happens before the window closes
    attempt = RenewalAttempt.objects.get()
    time_machine.move_to(attempt.authenticate_by - timedelta(minutes=1))
    assert renewal_retries_sweep.call() == 0

    # When the window has passed
    time_machine.move_to(attempt.authenticate_by + timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert renewal_retries_sweep.call() == 1

    # Then it is a decline: the usual e-mail with the reason, a retry in an hour
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.FAILED
    assert attempt.failure_message == "You did not confirm the payment with your bank in time."
    assert attempt.next_attempt_at == attempt.events.last().at + timedelta(hours=1)
    assert attempt.order.status == OrderStatus.PAYMENT_FAILED
    [failed] = [m for m in mail.outbox if "could not renew" in m.subject]
    assert "did not confirm the payment with your bank in time" in failed.body
    assert not renewed_periods(card).exists()
    # And the link no longer leads to the bank
    client.force_login(alice)
    page = client.get(held_back).content.decode()
    assert "can no longer be confirmed" in page and "Confirm with your bank" not in page


def test_a_charge_confirmed_after_its_window_closed_still_renews_the_card_once(
        held_back, card, alice, client, time_machine, django_capture_on_commit_callbacks):
    client.force_login(alice)
    to_bank = bank_link(client.get(held_back).content.decode())
    attempt = RenewalAttempt.objects.get()
    time_machine.move_to(attempt.authenticate_by + timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        renewal_retries_sweep.call()
    assert RenewalAttempt.objects.get().status == AttemptStatus.FAILED

    # When alice confirms at the bank anyway: the money was taken, so the card renews
    with django_capture_on_commit_callbacks(execute=True):
        client.post(to_bank, {"action": "confirm"})

    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert attempt.order.status == OrderStatus.FULFILLED
    assert renewed_periods(card).count() == 1


def test_failing_the_bank_check_is_a_decline_at_once(
        held_back, card, alice, client, django_capture_on_commit_callbacks):
    client.force_login(alice)
    to_bank = bank_link(client.get(held_back).content.decode())

    with django_capture_on_commit_callbacks(execute=True):
        client.post(to_bank, {"action": "fail"})

    attempt = RenewalAttempt.objects.get()
    assert attempt.status == AttemptStatus.FAILED
    assert attempt.failure_message.startswith("The card could not be authenticated")
    assert len([m for m in mail.outbox if "could not renew" in m.subject]) == 1
    assert not renewed_periods(card).exists()


def test_the_page_is_only_for_the_card_owner_signed_in(held_back, client, bob):
    assert client.get(held_back).status_code == 302  # to sign in
    client.force_login(bob)
    assert client.get(held_back).status_code == 404
    assert client.get("/payments/00000000-0000-0000-0000-000000000000/authenticate/"
                      ).status_code == 404


def test_switching_auto_renewal_off_drops_the_waiting_attempt(
        held_back, card, alice, client):
    from django.utils import timezone

    from simdesk.renewals.services import renewal_disable

    renewal_disable(card=card, reason="customer", now=timezone.now())

    assert RenewalAttempt.objects.get().status == AttemptStatus.GIVEN_UP
    client.force_login(alice)
    assert "can no longer be confirmed" in client.get(held_back).content.decode()


def test_a_retry_after_the_period_ended_gets_the_whole_window_to_confirm(
        held_back, time_machine, django_capture_on_commit_callbacks):
    # Given the first window passed with the period's end, and the retry is due an hour later
    attempt = RenewalAttempt.objects.get()
    time_machine.move_to(attempt.authenticate_by + timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        renewal_retries_sweep.call()
    attempt.refresh_from_db()
    retry_at = attempt.next_attempt_at
    time_machine.move_to(retry_at + timedelta(seconds=1))

    # When the retry's charge is held back again
    with django_capture_on_commit_callbacks(execute=True):
        assert renewal_retries_sweep.call() == 1

    # Then the customer has the whole window (12 h), and a second e-mail with a new link
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.AWAITING_AUTHENTICATION
    assert attempt.attempt_count == 2
    assert timedelta(hours=12) < attempt.authenticate_by - retry_at < timedelta(hours=12, minutes=1)
    links = {LINK.search(m.body).group(1) for m in mail.outbox
             if "Confirm your card's renewal" in m.subject}
    assert len(links) == 2


def test_the_renewal_page_links_to_the_payment_waiting_for_confirmation(
        held_back, card, alice, client):
    client.force_login(alice)

    page = client.get(f"/cards/{card.public_id}/renewal/").content.decode()

    assert "Your bank asks you to confirm this card's renewal payment." in page
    assert f'href="{held_back}"' in page
