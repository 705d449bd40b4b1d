"""Notification preferences: defaults, saving, and refusing thresholds that make no sense."""

import pytest

from simdesk.notifications.models import NotificationPreferences
from simdesk.notifications.selectors import notification_preferences_get
from simdesk.notifications.services import PreferenceInvalid, notification_preferences_update

pytestmark = pytest.mark.django_db


def update(user, now, **changes):
    values = {"marketing": False, "alerts": True, "usage_thresholds": [80, 100],
              "expiry_days": [3, 1]}
    values.update(changes)
    return notification_preferences_update(user=user, now=now, **values)


def test_it_has_the_defaults_before_anything_is_saved(alice):
    preferences = notification_preferences_get(user=alice)

    assert preferences.pk is None
    assert (preferences.marketing, preferences.alerts) == (False, True)
    assert preferences.usage_thresholds == [80, 100]
    assert preferences.expiry_days == [3, 1]


def test_it_saves_sorted_and_de_duplicated_thresholds(alice, now):
    update(alice, now, marketing=True, alerts=False, usage_thresholds=[100, 50, 90, 50],
           expiry_days=[1, 7, 3, 7])

    preferences = notification_preferences_get(user=alice)
    assert (preferences.marketing, preferences.alerts) == (True, False)
    assert preferences.usage_thresholds == [50, 90, 100]
    assert preferences.expiry_days == [7, 3, 1]
    # the copies the alert sweep reads
    assert (preferences.usage_floor, preferences.usage_top) == (50, 100)
    assert (preferences.expiry_horizon, preferences.expiry_last) == (7, 1)


def test_saving_twice_keeps_one_row(alice, now):
    update(alice, now)
    update(alice, now, usage_thresholds=[90])

    assert NotificationPreferences.objects.filter(user=alice).count() == 1
    assert notification_preferences_get(user=alice).usage_thresholds == [90]


def test_empty_lists_mean_no_alerts_of_that_kind(alice, now):
    update(alice, now, usage_thresholds=[], expiry_days=[])

    preferences = notification_preferences_get(user=alice)
    assert (preferences.usage_thresholds, preferences.expiry_days) == ([], [])
    assert preferences.usage_floor == 101 and preferences.expiry_horizon == 0


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"usage_thresholds": [0, 80]}, "usage_thresholds",
     "0 is not a percentage between 1 and 100."),
    ({"usage_thresholds": [80, 101]}, "usage_thresholds",
     "101 is not a percentage between 1 and 100."),
    ({"usage_thresholds": [10, 20, 30, 40, 50, 60]}, "usage_thresholds",
     "Choose at most 5 values."),
    ({"usage_thresholds": [80.5]}, "usage_thresholds", "Use whole numbers only"),
    ({"expiry_days": [31]}, "expiry_days", "31 is not a number of days between 1 and 30."),
    ({"expiry_days": [0]}, "expiry_days", "0 is not a number of days between 1 and 30."),
    ({"expiry_days": [1, 2, 3, 4, 5, 6]}, "expiry_days", "Choose at most 5 values."),
])
def test_it_refuses_thresholds_out_of_range_and_saves_nothing(alice, now, changes, field,
                                                              message):
    with pytest.raises(PreferenceInvalid) as refused:
        update(alice, now, marketing=True, **changes)

    assert refused.value.field == field
    assert message in str(refused.value.message)
    assert not NotificationPreferences.objects.exists()


def test_five_repeated_values_count_once(alice, now):
    update(alice, now, usage_thresholds=[80, 80, 80, 80, 80, 90, 100])

    assert notification_preferences_get(user=alice).usage_thresholds == [80, 90, 100]

