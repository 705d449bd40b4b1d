"""The auto-renewal page, the card page's summary, and the one-click off link."""

from datetime import timedelta

import pytest
from django.urls import reverse

from simdesk.renewals.models import RenewalSettings
from simdesk.renewals.signing import renewal_off_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def test_it_saves_the_settings_from_the_form_without_javascript(
        signed_in, card, plan, current_period, saved_method):
    method = saved_method()
    url = reverse("portal:card_renewal", args=[card.public_id])
    page = signed_in.get(url)
    assert page.status_code == 200
    assert "12.00" in page.content.decode()  # the plan with its price in USD

    response = signed_in.post(url, {
        "enabled": "on", "plan": str(plan.public_id), "trigger_before_expiry_hours": "48",
        "trigger_low_data_percent": "", "payment_method": str(method.public_id)})

    assert response.status_code == 302
    rs = RenewalSettings.objects.get(card=card)
    assert (rs.enabled, rs.plan, rs.trigger_before_expiry_hours, rs.payment_method) \
        == (True, plan, 48, method)
    detail = signed_in.get(reverse("portal:card_detail", args=[card.public_id]))
    assert "Auto-renewal: on" in detail.content.decode()


def test_it_shows_what_is_wrong_and_saves_nothing(signed_in, card, plan, current_period):
    url = reverse("portal:card_renewal", args=[card.public_id])
    response = signed_in.post(url, {"enabled": "on", "plan": str(plan.public_id),
                                    "trigger_before_expiry_hours": "24"})
    assert response.status_code == 400
    assert "saved payment method" in response.content.decode()
    assert not RenewalSettings.objects.exists()


def test_it_hides_other_customers_cards(client, bob, card):
    client.force_login(bob)
    assert client.get(reverse("portal:card_renewal", args=[card.public_id])).status_code == 404


def test_the_card_page_says_auto_renewal_is_off_with_a_link_to_set_it_up(signed_in, card):
    page = signed_in.get(reverse("portal:card_detail", args=[card.public_id])).content.decode()
    assert "Auto-renewal: off" in page
    assert reverse("portal:card_renewal", args=[card.public_id]) in page


def test_the_one_click_link_asks_first_then_switches_off_without_signing_in(
        client, card, current_period, renewing):
    renewing()
    url = reverse("portal:renewal_off", args=[renewal_off_token(card=card)])

    page = client.get(url)
    assert page.status_code == 200
    assert RenewalSettings.objects.get(card=card).enabled is True  # GET changes nothing

    done = client.post(url)
    assert done.status_code == 200
    assert RenewalSettings.objects.get(card=card).enabled is False


def test_an_expired_one_click_link_gets_a_clear_400(client, card, current_period, renewing,
                                                     time_machine, now):
    renewing()
    time_machine.move_to(now)
    url = reverse("portal:renewal_off", args=[renewal_off_token(card=card)])
    time_machine.move_to(now + timedelta(days=30, minutes=1))

    response = client.post(url)

    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert RenewalSettings.objects.get(card=card).enabled is True


def test_a_tampered_one_click_link_gets_a_clear_400(client, card, current_period, renewing,
                                                    make_card, alice):
    renewing()
    other = make_card(owner=alice)
    token = renewal_off_token(card=card).replace(str(card.public_id), str(other.public_id))

    response = client.post(reverse("portal:renewal_off", args=[token]))

    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    assert RenewalSettings.objects.get(card=card).enabled is True


def test_a_link_29_days_old_still_works(client, card, current_period, renewing,
                                        time_machine, now):
    renewing()
    time_machine.move_to(now)
    url = reverse("portal:renewal_off", args=[renewal_off_token(card=card)])
    time_machine.move_to(now + timedelta(days=29))
    assert client.post(url).status_code == 200
    assert RenewalSettings.objects.get(card=card).enabled is False
