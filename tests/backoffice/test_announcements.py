"""The announcements editor: sam (support agent) writes an announcement in English and
Chinese for customers in Europe, then moves its end; each save is audited with the fields
it changed. A wrong form is a 400 with the error on its field and writes nothing."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse

from simdesk.catalog.models import Region
from simdesk.core.models import AuditEntry
from simdesk.support.models import Announcement, Audience

from .conftest import sign_in_staff


@pytest.fixture
def europe(db):
    return Region.objects.create(code="europe", countries=["DE", "FR"])


def form(now, **changes):
    data = {
        "key": str(uuid.uuid4()), "internal_name": "Summer sale",
        "starts_at": f"{now:%Y-%m-%dT%H:%M}",
        "ends_at": f"{now + timedelta(days=7):%Y-%m-%dT%H:%M}",
        "audience": Audience.EVERYONE, "region": "", "plan": "", "coupon": "",
        "title_en": "Summer sale", "body_en": "20 % off every plan this week.",
        "title_zh_hans": "夏季促销", "body_zh_hans": "本周所有套餐八折。",
    }
    data.update(changes)
    return data


def test_an_agent_creates_an_announcement_for_a_region_in_two_languages(client, agent,
                                                                       europe, now):
    sign_in_staff(client, agent)

    response = client.post(reverse("backoffice:announcement_new"),
                           form(now, audience=Audience.REGION, region="europe",
                                send_email="on"))

    announcement = Announcement.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:announcement_edit",
                                           args=[announcement.public_id])
    assert (announcement.audience, announcement.region, announcement.send_email) == (
        Audience.REGION, europe, True)
    assert (announcement.starts_at, announcement.ends_at) == (now, now + timedelta(days=7))
    assert {row.language: row.title for row in announcement.translations.all()} == {
        "en": "Summer sale", "zh-hans": "夏季促销"}
    entry = AuditEntry.objects.get(action="announcement.create")
    assert entry.actor == agent and entry.target_id == str(announcement.public_id)
    assert entry.after["region"] == "europe" and entry.after["text.en"]["title"] == "Summer sale"


def test_an_edit_records_only_the_fields_it_changed(client, agent, now):
    sign_in_staff(client, agent)
    client.post(reverse("backoffice:announcement_new"), form(now))
    announcement = Announcement.objects.get()
    url = reverse("backoffice:announcement_edit", args=[announcement.public_id])
    assert client.get(url).status_code == 200

    client.post(url, form(now, ends_at=f"{now + timedelta(days=14):%Y-%m-%dT%H:%M}",
                          title_zh_hans="", body_zh_hans=""))

    announcement.refresh_from_db()
    assert announcement.ends_at == now + timedelta(days=14)
    assert list(announcement.translations.values_list("language", flat=True)) == ["en"]
    entry = AuditEntry.objects.get(action="announcement.update")
    assert entry.before == {"ends_at": (now + timedelta(days=7)).isoformat(),
                            "text.zh-hans": {"title": "夏季促销", "body": "本周所有套餐八折。"}}
    assert entry.after == {"ends_at": (now + timedelta(days=14)).isoformat(),
                           "text.zh-hans": None}

    # saving the same values again changes nothing and records nothing
    client.post(url, form(now, ends_at=f"{now + timedelta(days=14):%Y-%m-%dT%H:%M}",
                          title_zh_hans="", body_zh_hans=""))
    assert AuditEntry.objects.filter(action="announcement.update").count() == 1


@pytest.mark.parametrize(("changes", "field"), [
    ({"ends_at": "2026-05-01T12:00"}, "ends_at"),            # before the start
    ({"title_en": "", "body_en": ""}, "title_en"),           # English is required
    ({"audience": Audience.REGION}, "region"),               # which region?
    ({"audience": Audience.PLAN}, "plan"),                   # which plan?
    ({"title_zh_hans": "夏季促销", "body_zh_hans": ""}, "body_zh_hans"),
    ({"starts_at": "not a date"}, "starts_at"),
    ({"coupon": "NOSUCHCODE"}, "coupon"),
])
def test_a_wrong_form_is_a_400_with_the_fields_error_and_writes_nothing(client, agent, now,
                                                                        changes, field):
    sign_in_staff(client, agent)

    response = client.post(reverse("backoffice:announcement_new"), form(now, **changes))

    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not Announcement.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="announcement.").exists()


def test_a_create_form_sent_twice_creates_one_announcement(client, agent, now):
    sign_in_staff(client, agent)
    data = form(now)

    first = client.post(reverse("backoffice:announcement_new"), data)
    second = client.post(reverse("backoffice:announcement_new"), data)

    assert Announcement.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_it_lists_announcements_and_a_billing_admin_cannot_edit_them(client, agent, biller,
                                                                     now):
    sign_in_staff(client, agent)
    client.post(reverse("backoffice:announcement_new"), form(now))
    assert "Summer sale" in client.get(reverse("backoffice:announcements")).content.decode()

    sign_in_staff(client, biller)
    assert client.post(reverse("backoffice:announcement_new"),
                       form(now, internal_name="Other")).status_code == 403
    assert Announcement.objects.count() == 1
