"""Staff can read which alerts went out and each customer's alert settings, not edit them."""

import pytest
from django.urls import reverse

from simdesk.notifications.services import notification_preferences_update
from simdesk.usage.alerts import alerts_check_card

pytestmark = pytest.mark.django_db


def test_staff_see_alerts_sent_and_preferences_read_only(client, make_user, japan_card, use,
                                                          alice, now):
    notification_preferences_update(user=alice, marketing=False, alerts=True,
                                    usage_thresholds=[80], expiry_days=[3], now=now)
    use(japan_card, 9)
    alerts_check_card(card=japan_card, now=now)
    admin = make_user("admin@example.com", is_staff=True, is_superuser=True)
    client.force_login(admin)

    alerts = client.get(reverse("admin:usage_alertsent_changelist"))
    preferences = client.get(reverse("admin:notifications_notificationpreferences_changelist"))

    assert alerts.status_code == 200 and "usage" in alerts.content.decode()
    assert preferences.status_code == 200 and "alice@example.com" in preferences.content.decode()
    assert client.get(reverse("admin:usage_alertsent_add")).status_code == 403
