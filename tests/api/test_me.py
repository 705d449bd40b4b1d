"""The customer's account preferences and alert settings over the API."""

import pytest

from simdesk.notifications.selectors import notification_preferences_get

pytestmark = pytest.mark.django_db


def put(client, path, body):
    return client.put(path, body, content_type="application/json")


def test_it_shows_the_default_alert_thresholds(alice_api):
    response = alice_api.get("/api/v1/me/notifications")

    assert response.status_code == 200
    assert response.json() == {"alerts": True, "usage_thresholds": [80, 100],
                               "expiry_days": [3, 1], "marketing": False}


def test_it_saves_alert_thresholds_sorted_and_without_duplicates(alice, alice_api):
    response = put(alice_api, "/api/v1/me/notifications",
                   {"alerts": True, "usage_thresholds": [90, 50, 90], "expiry_days": [1, 7],
                    "marketing": True})

    assert response.status_code == 200
    assert response.json()["usage_thresholds"] == [50, 90]
    assert response.json()["expiry_days"] == [7, 1]
    saved = notification_preferences_get(user=alice)
    assert (saved.usage_thresholds, saved.expiry_days, saved.marketing) == ([50, 90], [7, 1],
                                                                           True)
    assert alice_api.get("/api/v1/me/notifications").json() == response.json()


@pytest.mark.parametrize("change, field", [
    ({"usage_thresholds": [0]}, "usage_thresholds"),
    ({"usage_thresholds": [101]}, "usage_thresholds"),
    ({"expiry_days": [31]}, "expiry_days"),
    ({"expiry_days": [1, 2, 3, 4, 5, 6]}, "expiry_days"),
    ({"usage_thresholds": ["eighty"]}, "usage_thresholds.0"),
    ({"alerts": None}, "alerts"),
])
def test_it_refuses_invalid_thresholds_naming_the_field(alice, alice_api, change, field):
    body = {"alerts": True, "usage_thresholds": [80], "expiry_days": [3], "marketing": False}

    response = put(alice_api, "/api/v1/me/notifications", {**body, **change})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert notification_preferences_get(user=alice).pk is None  # nothing saved


def test_it_can_switch_alerts_off_with_no_thresholds(alice, alice_api):
    response = put(alice_api, "/api/v1/me/notifications",
                   {"alerts": False, "usage_thresholds": [], "expiry_days": [],
                    "marketing": False})

    assert response.status_code == 200
    assert notification_preferences_get(user=alice).alerts is False


def test_it_changes_language_time_zone_and_currency(alice, alice_api):
    response = put(alice_api, "/api/v1/me", {"language": "zh-hans",
                                              "time_zone": "Asia/Shanghai", "currency": "CNY"})

    assert response.status_code == 200
    assert (response.json()["language"], response.json()["time_zone"],
            response.json()["currency"]) == ("zh-hans", "Asia/Shanghai", "CNY")
    alice.refresh_from_db()
    assert (alice.language, alice.time_zone, alice.currency) == ("zh-hans", "Asia/Shanghai",
                                                                "CNY")


@pytest.mark.parametrize("change, field", [
    ({"language": "xx"}, "language"),
    ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ({"currency": "ZZZ"}, "currency"),
])
def test_it_refuses_an_unknown_preference_naming_the_field(alice, alice_api, change, field):
    body = {"language": "en", "time_zone": "Europe/Paris", "currency": "EUR"}

    response = put(alice_api, "/api/v1/me", {**body, **change})

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == [field]
    alice.refresh_from_db()
    assert alice.time_zone == "UTC"
