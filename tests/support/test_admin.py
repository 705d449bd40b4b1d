"""Staff write announcements in the admin: texts per language (English required), audience
rules checked; the ticket pages render for staff."""

from datetime import timedelta

import pytest
from django.urls import reverse

from simdesk.support.models import Announcement

pytestmark = pytest.mark.django_db


def form(now, *, texts, **fields):
    data = {"internal_name": "Summer sale", "starts_at_0": now.strftime("%Y-%m-%d"),
            "starts_at_1": "00:00:00", "ends_at_0": (now + timedelta(days=7)).strftime("%Y-%m-%d"),
            "ends_at_1": "00:00:00", "audience": "everyone",
            "translations-TOTAL_FORMS": str(len(texts)), "translations-INITIAL_FORMS": "0",
            "translations-MIN_NUM_FORMS": "1", "translations-MAX_NUM_FORMS": "1000"}
    for i, (language, title, body) in enumerate(texts):
        data.update({f"translations-{i}-language": language, f"translations-{i}-title": title,
                     f"translations-{i}-body": body})
    data.update(fields)
    return data


def test_staff_write_an_announcement_in_english_and_chinese(client, agent, now):
    client.force_login(agent)
    page = client.get(reverse("admin:support_announcement_add"))
    assert page.status_code == 200
    assert 'value="zh-hans" selected' in page.content.decode()
    response = client.post(reverse("admin:support_announcement_add"), form(now, texts=[
        ("en", "Summer sale", "10 % off"), ("zh-hans", "夏季促销", "九折")]))
    assert response.status_code == 302, response.content.decode()[:3000]
    announcement = Announcement.objects.get()
    assert announcement.translation_for("zh-hans").title == "夏季促销"
    assert announcement.translation_for("en").title == "Summer sale"


def test_english_is_required_and_a_region_audience_needs_its_region(client, agent, now):
    client.force_login(agent)
    response = client.post(reverse("admin:support_announcement_add"),
                           form(now, texts=[("zh-hans", "夏季促销", "九折")]))
    assert response.status_code == 200
    assert "in English at least" in response.content.decode()
    response = client.post(reverse("admin:support_announcement_add"),
                           form(now, texts=[("en", "Sale", "Off")], audience="region"))
    assert response.status_code == 200
    assert "Choose the region" in response.content.decode()
    assert not Announcement.objects.exists()


def test_the_ticket_list_and_page_render_for_staff(client, agent, alice, now):
    from simdesk.support.services import ticket_open

    ticket = ticket_open(customer=alice, subject="<b>Help</b>", body="Line 1\nLine <2>", now=now)
    client.force_login(agent)
    assert client.get(reverse("admin:support_ticket_changelist")).status_code == 200
    page = client.get(reverse("admin:support_ticket_change", args=[ticket.pk])).content.decode()
    assert "Line 1<br>Line &lt;2&gt;" in page
    assert 'name="reply"' in page
    assert client.get(reverse("admin:support_ticket_add")).status_code == 403
