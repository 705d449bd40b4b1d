"""Usage and expiry alerts: once per period per threshold, at the thresholds the customer chose."""

import pytest
from django.core import mail

from simdesk.cards.models import Period, PeriodState
from simdesk.cards.services import period_create
from simdesk.catalog.models import Stacking
from simdesk.notifications.messages import EXPIRY_ALERT, USAGE_ALERT
from simdesk.notifications.models import Notification
from simdesk.notifications.services import notification_preferences_update
from simdesk.usage.alerts import alerts_check_card
from simdesk.usage.models import AlertSent

from .conftest import GB, days

pytestmark = pytest.mark.django_db


def queued(kind=None):
    rows = Notification.objects.order_by("id")
    if kind:
        rows = rows.filter(kind=kind)
    return [(n.kind, n.context["threshold"]) for n in rows]


def set_preferences(user, now, *, alerts=True, usage=(80, 100), expiry=(3, 1)):
    notification_preferences_update(user=user, marketing=False, alerts=alerts,
                                    usage_thresholds=list(usage), expiry_days=list(expiry),
                                    now=now)


def test_it_sends_nothing_below_the_first_threshold(japan_card, use, now):
    use(japan_card, 7.9)

    assert alerts_check_card(card=japan_card, now=now) == []
    assert queued() == []


def test_it_alerts_once_at_80_percent_however_often_it_checks(japan_card, use, now):
    # given alice has used 8 of 10 GB
    use(japan_card, 8)

    # when the check runs twice
    first = alerts_check_card(card=japan_card, now=now)
    second = alerts_check_card(card=japan_card, now=now + days(0.01))

    # then one alert went out, for 80 %
    assert [(a.kind, a.threshold) for a in first] == [("usage", 80)]
    assert second == []
    assert queued() == [(USAGE_ALERT, 80)]
    [row] = Notification.objects.all()
    assert row.context["used_percent"] == 80
    assert row.context["remaining_bytes"] == 2 * GB
    assert row.dedupe_key == f"alert:{Period.objects.get().public_id}:usage:80"


def test_it_alerts_at_80_then_at_100_percent(japan_card, use, now):
    use(japan_card, 8.5)
    alerts_check_card(card=japan_card, now=now)

    # when the rest is used up (the period is then exhausted)
    use(japan_card, 1.5, at=now + days(1))
    alerts_check_card(card=japan_card, now=now + days(1))
    alerts_check_card(card=japan_card, now=now + days(1.1))

    assert Period.objects.get().state == PeriodState.EXHAUSTED
    assert queued() == [(USAGE_ALERT, 80), (USAGE_ALERT, 100)]


def test_it_sends_only_the_most_urgent_alert_when_several_were_crossed_at_once(
        japan_card, use, now):
    use(japan_card, 10)

    alerts_check_card(card=japan_card, now=now)

    # both thresholds are recorded, but alice gets one e-mail
    assert queued() == [(USAGE_ALERT, 100)]
    assert sorted(AlertSent.objects.values_list("threshold", flat=True)) == [80, 100]


def test_it_uses_the_thresholds_the_customer_chose(japan_card, use, alice, now):
    set_preferences(alice, now, usage=[50, 90])
    use(japan_card, 5)
    alerts_check_card(card=japan_card, now=now)
    use(japan_card, 3.5)  # 85 %: 80 is not one of hers
    alerts_check_card(card=japan_card, now=now)
    use(japan_card, 0.5)  # 90 %
    alerts_check_card(card=japan_card, now=now)

    assert queued() == [(USAGE_ALERT, 50), (USAGE_ALERT, 90)]


def test_it_queues_nothing_when_alerts_are_off(japan_card, use, alice, now):
    set_preferences(alice, now, alerts=False)
    use(japan_card, 9)

    alerts_check_card(card=japan_card, now=now + days(28))

    assert queued() == []
    assert not AlertSent.objects.exists()


def test_it_alerts_for_a_still_crossed_threshold_after_alerts_are_turned_back_on(
        japan_card, use, alice, now):
    set_preferences(alice, now, alerts=False)
    use(japan_card, 9)
    alerts_check_card(card=japan_card, now=now)

    set_preferences(alice, now, alerts=True)
    alerts_check_card(card=japan_card, now=now)

    assert queued() == [(USAGE_ALERT, 80)]


def test_it_alerts_3_days_and_1_day_before_the_end(japan_card, now):
    # the period ends 30 days after now
    alerts_check_card(card=japan_card, now=now + days(26.9))  # 3.1 days left
    assert queued() == []

    alerts_check_card(card=japan_card, now=now + days(27))  # exactly 3 days left
    alerts_check_card(card=japan_card, now=now + days(28))
    alerts_check_card(card=japan_card, now=now + days(29) + days(0.5))  # half a day left
    alerts_check_card(card=japan_card, now=now + days(29.9))

    assert queued() == [(EXPIRY_ALERT, 3), (EXPIRY_ALERT, 1)]
    assert [n.context["days_left"] for n in Notification.objects.order_by("id")] == [3, 1]


def test_it_does_not_warn_of_the_end_when_the_period_is_no_longer_than_the_threshold(
        make_plan, make_card, alice, now):
    # given a one-day pass bought now
    card = make_card(owner=alice)
    period_create(card=card, plan=make_plan(data_bytes=GB, days=1), source="order:day",
                  now=now)

    alerts_check_card(card=card, now=now + days(0.1))

    # "ends in 3 days" would be wrong and "ends in 1 day" is what she just bought
    assert queued() == []


def test_it_uses_the_days_the_customer_chose(japan_card, alice, now):
    set_preferences(alice, now, expiry=[7])

    alerts_check_card(card=japan_card, now=now + days(23))
    alerts_check_card(card=japan_card, now=now + days(29.5))

    assert queued() == [(EXPIRY_ALERT, 7)]


def test_a_new_period_gets_its_own_alerts(japan_card, use, make_plan, now):
    # given the first period alerted at 80 % and then was used up
    use(japan_card, 8)
    alerts_check_card(card=japan_card, now=now)
    use(japan_card, 2)
    alerts_check_card(card=japan_card, now=now)

    # when alice buys a new period and uses 80 % of it
    period_create(card=japan_card, plan=make_plan(data_bytes=GB, days=30,
                                                  stacking=Stacking.QUEUE),
                  source="order:second", now=now + days(1))
    use(japan_card, 0.8, at=now + days(1))
    alerts_check_card(card=japan_card, now=now + days(1))

    # then the new period alerts at 80 % again
    assert queued() == [(USAGE_ALERT, 80), (USAGE_ALERT, 100), (USAGE_ALERT, 80)]
    assert len({n.dedupe_key for n in Notification.objects.all()}) == 3


def test_a_duplicate_alert_row_means_someone_else_sent_it(japan_card, use, now):
    # given another worker already recorded the 80 % alert for this period
    use(japan_card, 8)
    AlertSent.objects.create(period=Period.objects.get(), kind="usage", threshold=80,
                             sent_at=now)

    # when this worker checks
    assert alerts_check_card(card=japan_card, now=now) == []

    # then it sends nothing more
    assert queued() == []


def test_it_sends_the_alert_e_mail(japan_card, use, now, django_capture_on_commit_callbacks):
    use(japan_card, 8)

    with django_capture_on_commit_callbacks(execute=True):
        alerts_check_card(card=japan_card, now=now)

    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert "You have used 80 % of Japan 10 GB" in message.subject
    assert f"on card …{japan_card.iccid[-4:]}: 2 GB left" in message.body
    assert "/cards/" in message.body and "/plans/" in message.body
