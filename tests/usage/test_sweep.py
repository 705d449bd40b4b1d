"""The alert sweep picks the cards that may owe an alert, and fans out one check per card."""

from unittest import mock

import pytest

from config.schedule import SCHEDULE
from simdesk.notifications.messages import USAGE_ALERT
from simdesk.notifications.models import Notification
from simdesk.notifications.services import notification_preferences_update
from simdesk.usage import tasks
from simdesk.usage.alerts import alerts_check_card
from simdesk.usage.selectors import cards_due_for_alerts

from .conftest import days

pytestmark = pytest.mark.django_db


def due(now):
    return list(cards_due_for_alerts(now=now))


def test_it_runs_every_five_minutes():
    [sweep] = [s for s in SCHEDULE if s.name == "usage-alerts"]
    assert sweep.task == "simdesk.usage.tasks.alerts_sweep"
    assert sweep.every.total_seconds() == 300


def test_it_leaves_out_a_card_below_every_threshold_and_far_from_its_end(japan_card, use, now):
    use(japan_card, 7)

    assert due(now) == []


def test_it_picks_a_card_past_its_owners_lowest_threshold_until_the_last_one_is_sent(
        japan_card, use, now):
    use(japan_card, 8)
    assert due(now) == [japan_card]

    alerts_check_card(card=japan_card, now=now)
    assert due(now) == [japan_card]  # 100 % is still to come

    use(japan_card, 2)
    alerts_check_card(card=japan_card, now=now)
    assert due(now) == []


def test_it_reads_each_owners_own_lowest_threshold(japan_card, use, alice, now):
    notification_preferences_update(user=alice, marketing=False, alerts=True,
                                    usage_thresholds=[50], expiry_days=[3, 1], now=now)
    use(japan_card, 5)

    assert due(now) == [japan_card]


def test_it_picks_a_card_near_its_end_by_the_owners_days(japan_card, alice, now):
    assert due(now + days(26.5)) == []
    assert due(now + days(27.5)) == [japan_card]

    notification_preferences_update(user=alice, marketing=False, alerts=True,
                                    usage_thresholds=[80], expiry_days=[10], now=now)
    assert due(now + days(20.5)) == [japan_card]


def test_it_leaves_out_owners_with_alerts_off(japan_card, use, alice, now):
    notification_preferences_update(user=alice, marketing=False, alerts=False,
                                    usage_thresholds=[80], expiry_days=[3], now=now)
    use(japan_card, 9)

    assert due(now + days(29)) == []


def test_the_sweep_checks_each_due_card(japan_card, use, now):
    use(japan_card, 9)

    with mock.patch.object(tasks, "utcnow", return_value=now):
        count = tasks.alerts_sweep.call()

    # the immediate test backend ran the per-card check too
    assert count == 1
    assert [n.kind for n in Notification.objects.all()] == [USAGE_ALERT]
