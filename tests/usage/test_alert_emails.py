"""The alert e-mails as alice reads them: calm, with what is left, until when, and where to go."""

import pytest
from django.core import mail

from simdesk.usage.alerts import alerts_check_card

from .conftest import days

pytestmark = pytest.mark.django_db


@pytest.fixture
def check(django_capture_on_commit_callbacks):
    def run(card, now):
        with django_capture_on_commit_callbacks(execute=True):
            alerts_check_card(card=card, now=now)
        return mail.outbox[-1]

    return run


def html_of(message) -> str:
    return next(body for body, mimetype in message.alternatives if mimetype == "text/html")


def test_the_usage_alert_says_how_much_is_used_and_left_and_until_when(japan_card, use, check,
                                                                       now):
    use(japan_card, 8)

    message = check(japan_card, now)

    tail = japan_card.iccid[-4:]
    assert message.subject == "[simdesk] You have used 80 % of Japan 10 GB"
    html = html_of(message)
    for body in (message.body, html):
        assert f"You have used 80 % of Japan 10 GB on card …{tail}: 2 GB left." in body
        assert "The plan is valid until July 1, 2026, noon." in body
        assert f"http://127.0.0.1:8000/cards/{japan_card.public_id}/" in body
        assert "http://127.0.0.1:8000/plans/" in body
        assert "http://127.0.0.1:8000/settings/notifications/" in body


def test_the_usage_alert_at_100_percent_says_all_is_used(japan_card, use, check, now):
    use(japan_card, 10)

    message = check(japan_card, now)

    assert message.subject == "[simdesk] You have used all the data of Japan 10 GB"
    assert "You have used all the data of Japan 10 GB on card" in message.body


def test_the_expiry_alert_gives_the_days_and_the_date_in_the_customers_time_zone(
        japan_card, alice, check, now):
    # given alice lives in Tokyo (UTC+9); the period ends 1 July 12:00 UTC = 21:00 in Tokyo
    alice.time_zone = "Asia/Tokyo"
    alice.save(update_fields=["time_zone"])

    message = check(japan_card, now + days(27))

    assert message.subject == "[simdesk] Japan 10 GB ends in 3 days"
    tail = japan_card.iccid[-4:]
    for body in (message.body, html_of(message)):
        assert (f"Japan 10 GB on card …{tail} ends in 3 days (on July 1, 2026, 9 p.m.)."
                in body)
        assert "10 GB of data is left until then." in body
        assert "Asia/Tokyo" in body


def test_the_last_day_reads_in_the_singular(japan_card, check, now):
    message = check(japan_card, now + days(29.5))

    assert message.subject == "[simdesk] Japan 10 GB ends in 1 day"
