"""Account services: the rules hold whoever calls them (web page, API, admin)."""

import pytest

from simdesk.accounts.models import User
from simdesk.accounts.services import user_set_language, user_update_preferences
from simdesk.core.errors import ServiceError


def test_it_saves_a_language_simdesk_offers(alice):
    user_set_language(user=alice, language="zh-hans")
    user_set_language(user=alice, language="zh-hans")

    assert User.objects.get(pk=alice.pk).language == "zh-hans"


def test_it_refuses_a_language_simdesk_does_not_offer(alice):
    with pytest.raises(ServiceError) as refused:
        user_set_language(user=alice, language="fr")

    assert refused.value.code == "invalid_language"
    assert User.objects.get(pk=alice.pk).language == ""


def test_it_saves_all_three_preferences(alice):
    user_update_preferences(user=alice, language="en", time_zone="Europe/London", currency="GBP")

    user = User.objects.get(pk=alice.pk)
    assert (user.language, user.time_zone, user.currency) == ("en", "Europe/London", "GBP")


@pytest.mark.parametrize(
    ("preferences", "code"),
    [
        ({"language": "xx", "time_zone": "UTC", "currency": "USD"}, "invalid_language"),
        ({"language": "en", "time_zone": "Mars/Base", "currency": "USD"}, "invalid_time_zone"),
        ({"language": "en", "time_zone": "UTC", "currency": "BTC"}, "invalid_currency"),
    ],
)
def test_it_saves_nothing_when_one_preference_is_wrong(alice, preferences, code):
    with pytest.raises(ServiceError) as refused:
        user_update_preferences(user=alice, **preferences)

    assert refused.value.code == code
    user = User.objects.get(pk=alice.pk)
    assert (user.language, user.time_zone, user.currency) == ("", "UTC", "")


def test_it_falls_back_to_utc_for_a_zone_that_no_longer_exists(alice):
    alice.time_zone = "Nowhere/Gone"

    assert alice.zone.key == "UTC"
