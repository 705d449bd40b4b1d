"""The notification preferences page: switches, thresholds, and errors beside the field."""

import re

import pytest
from django.urls import reverse

from simdesk.notifications.selectors import notification_preferences_get

URL = "/settings/notifications/"


@pytest.fixture
def alice_signed_in(client, alice):
    client.force_login(alice)
    return alice


def test_it_lives_at_settings_notifications():
    assert reverse("portal:notification_preferences") == URL


def test_it_asks_a_visitor_to_sign_in_first(client, db):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_it_shows_the_defaults_and_that_receipts_always_go_out(client, alice_signed_in):
    response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    [alerts] = re.findall(r'<input type="checkbox" name="alerts"[^>]*>', html)
    [marketing] = re.findall(r'<input type="checkbox" name="marketing"[^>]*>', html)
    assert " checked" in alerts and " checked" not in marketing
    assert 'value="80, 100"' in html
    assert 'value="3, 1"' in html
    assert "Receipts, payment and auto-renewal e-mails always go out" in html


def test_it_is_linked_from_the_settings_page_and_the_account_menu(client, alice_signed_in):
    html = client.get(reverse("portal:settings")).content.decode()

    assert html.count(f'href="{URL}"') == 2


def test_it_saves_the_choices(client, alice_signed_in):
    # when alice turns alerts off, news on, and writes her own thresholds
    response = client.post(URL, {"marketing": "on", "usage_thresholds": "90%, 50，75",
                                 "expiry_days": "7 2"})

    # then they are saved, tidied, and shown back
    assert response.status_code == 302
    assert response["Location"] == URL
    preferences = notification_preferences_get(user=alice_signed_in)
    assert (preferences.marketing, preferences.alerts) == (True, False)
    assert preferences.usage_thresholds == [50, 75, 90]
    assert preferences.expiry_days == [7, 2]
    page = client.get(URL).content.decode()
    assert "Your notification settings were saved." in page
    assert 'value="50, 75, 90"' in page


def test_it_shows_a_bad_number_beside_its_field_and_saves_nothing(client, alice_signed_in):
    response = client.post(URL, {"alerts": "on", "usage_thresholds": "80, lots",
                                 "expiry_days": "3, 1"})

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["usage_thresholds"] == [
        "“lots” is not a whole number. Write numbers separated by commas, such as 80, 100."]
    assert notification_preferences_get(user=alice_signed_in).pk is None


def test_it_shows_an_out_of_range_value_beside_its_field(client, alice_signed_in):
    response = client.post(URL, {"alerts": "on", "usage_thresholds": "80",
                                 "expiry_days": "45"})

    assert response.status_code == 200
    assert response.context["form"].errors["expiry_days"] == [
        "45 is not a number of days between 1 and 30."]
    assert "45 is not a number of days between 1 and 30." in response.content.decode()
    assert notification_preferences_get(user=alice_signed_in).pk is None


def test_it_refuses_a_post_without_the_csrf_token(alice_signed_in):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice_signed_in)

    response = client.post(URL, {"alerts": "on", "usage_thresholds": "80",
                                 "expiry_days": "3"})

    assert response.status_code == 403
    assert notification_preferences_get(user=alice_signed_in).pk is None
