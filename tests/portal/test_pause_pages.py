"""Pausing and resuming a card from its page, over HTTP: a confirmation page with plain
words, a POST form with its CSRF token, refusals shown, another customer's card 404."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from simdesk.cards.iccid import iccid_with_check_digit
from simdesk.cards.models import Card, CardState, Period
from simdesk.cards.services import card_suspend, period_create
from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
from simdesk.catalog.services import plan_upsert

pytestmark = pytest.mark.django_db

GB = 10**9


@pytest.fixture
def clock(now):
    with time_machine.travel(now, tick=False) as traveller:
        yield traveller


def make_plan(code, *, pausable, now):
    return plan_upsert(
        code=code,
        terms={"kind": PlanKind.BASE, "validity_start": ValidityStart.ON_PURCHASE,
               "stacking": Stacking.QUEUE, "data_bytes": 5 * GB, "validity_days": 30,
               "pausable": pausable, "max_pause_days": 10 if pausable else 0},
        translations={"en": (code, code)}, prices={"USD": 1500}, countries=["FR"], now=now)


def make_card(owner, serial, plan, now):
    card = Card(iccid=iccid_with_check_digit(f"8944500100000{serial:05d}"), owner=owner,
                claimed_at=now)
    card.set_claim_code("AB12")
    card.save()
    period_create(card=card, plan=plan, source=f"test:{serial}", now=now)
    return card


@pytest.fixture
def alice_card(alice, now):
    """alice's card with a 30-day plan that can be paused for up to 10 days."""
    return make_card(alice, 1, make_plan("pausable-30d", pausable=True, now=now), now)


@pytest.fixture
def browser(alice):
    """alice signed in, with CSRF checks on as in a real browser."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def csrf_post(client, url):
    """Read the confirmation page, then submit its form with the token it carries."""
    page = client.get(url)
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return client.post(url, {"csrfmiddlewaretoken": token})


def test_it_offers_a_pause_on_the_card_page_in_plain_words(browser, alice_card, clock):
    page = browser.get(reverse("portal:card_detail", args=[alice_card.public_id]))

    assert page.status_code == 200
    assert "Pause it for up to 10 days" in page.text
    assert "the paused time is added to the end of your plan" in page.text
    assert reverse("portal:card_pause", args=[alice_card.public_id]) in page.text


def test_it_confirms_then_pauses_and_resumes_the_card(browser, alice_card, now, clock):
    end_before = Period.objects.get(card=alice_card).ends_at
    confirm = browser.get(reverse("portal:card_pause", args=[alice_card.public_id]))
    assert "the validity clock of your plan stops" in confirm.text
    assert "10 more days" in confirm.text
    alice_card.refresh_from_db()
    assert alice_card.state == CardState.ACTIVE  # reading the page changes nothing

    response = csrf_post(browser, reverse("portal:card_pause", args=[alice_card.public_id]))

    assert response.status_code == 302
    alice_card.refresh_from_db()
    assert alice_card.state == CardState.PAUSED
    page = browser.get(response["Location"])
    assert "The card is paused." in page.text
    assert reverse("portal:card_resume", args=[alice_card.public_id]) in page.text

    clock.move_to(now + timedelta(days=2), tick=False)
    response = csrf_post(browser, reverse("portal:card_resume", args=[alice_card.public_id]))

    assert response.status_code == 302
    alice_card.refresh_from_db()
    assert alice_card.state == CardState.ACTIVE
    assert Period.objects.get(card=alice_card).ends_at == end_before + timedelta(days=2)
    assert "The card is active again." in browser.get(response["Location"]).text


def test_it_refuses_a_post_without_the_csrf_token(browser, alice_card, clock):
    response = browser.post(reverse("portal:card_pause", args=[alice_card.public_id]))

    assert response.status_code == 403
    alice_card.refresh_from_db()
    assert alice_card.state == CardState.ACTIVE


def test_it_answers_404_for_another_customers_card(browser, alice, make_user, now, clock):
    bob = make_user("bob@example.com")
    bob_card = make_card(bob, 2, make_plan("bobs-plan", pausable=True, now=now), now)
    without_csrf_checks = Client()
    without_csrf_checks.force_login(alice)

    for name in ("portal:card_pause", "portal:card_resume"):
        url = reverse(name, args=[bob_card.public_id])
        assert browser.get(url).status_code == 404
        assert without_csrf_checks.post(url).status_code == 404

    bob_card.refresh_from_db()
    assert bob_card.state == CardState.ACTIVE


def test_it_shows_why_a_card_cannot_be_paused(browser, alice, now, clock):
    card = make_card(alice, 3, make_plan("fixed", pausable=False, now=now), now)
    url = reverse("portal:card_pause", args=[card.public_id])

    page = browser.get(url)

    assert page.status_code == 200
    assert "The plan on this card cannot be paused." in page.text
    assert f'action="{url}"' not in page.text
    # and the card page offers no pause at all
    assert url not in browser.get(reverse("portal:card_detail", args=[card.public_id])).text


def test_it_shows_a_refusal_after_the_post(browser, alice_card, now, clock):
    page = browser.get(reverse("portal:card_pause", args=[alice_card.public_id]))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    card_suspend(card=alice_card, reason="fraud check", now=now)

    response = browser.post(reverse("portal:card_pause", args=[alice_card.public_id]),
                            {"csrfmiddlewaretoken": token}, follow=True)

    assert response.status_code == 200
    assert "suspended by our staff, so it cannot be paused" in response.text
    alice_card.refresh_from_db()
    assert alice_card.state == CardState.SUSPENDED


def test_it_shows_a_pause_under_a_suspension_without_a_resume_button(browser, alice,
                                                                     alice_card, now, clock):
    from simdesk.cards.services import card_pause

    card_pause(card=alice_card, acting_user=alice, now=now)
    card_suspend(card=alice_card, reason="fraud check", now=now)

    page = browser.get(reverse("portal:card_detail", args=[alice_card.public_id]))

    assert "Paused since" in page.text
    assert "suspended by our staff, so it cannot be paused or resumed" in page.text
    assert reverse("portal:card_resume", args=[alice_card.public_id]) not in page.text
