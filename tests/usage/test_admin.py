"""Staff can read which alerts went out, each customer's alert settings, the usage records,
their sources and the rating runs; never add, edit or delete them."""

import re
from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.urls import reverse

from simdesk.notifications.services import notification_preferences_update
from simdesk.usage.alerts import alerts_check_card
from simdesk.usage.models import RatingRun, Record, Source
from simdesk.usage.services import UsageRecord, usage_rate, usage_store

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


@pytest.fixture
def stored_and_rated(japan_card, now):
    """Two records of japan_card from "mediation": r-1 rated, r-2 stored and waiting."""
    at = now + timedelta(minutes=5)
    usage_rate([record("r-1", japan_card, at)], source="mediation", now=at)
    usage_store([record("r-2", japan_card, at)], source="mediation")
    return Record.objects.get(record_id="r-1"), Record.objects.get(record_id="r-2")


def record(record_id, card, at):
    return UsageRecord(record_id=record_id, card_id=card.pk, bytes_up=1000, bytes_down=234_000,
                       started_at=at - timedelta(minutes=5), ended_at=at)


@pytest.fixture
def superuser_client(client, make_user):
    client.force_login(make_user("admin@example.com", is_staff=True, is_superuser=True))
    return client


def rows(page) -> list[str]:
    """The changelist's result rows as text, tags stripped."""
    html = page.content.decode()
    body = html.split('id="result_list"', 1)[1].split("</table>", 1)[0]
    return [re.sub(r"<[^>]+>", " ", row).split() for row in re.findall(
        r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>", 1)[1], flags=re.S)]


def test_staff_read_usage_records_with_card_bytes_time_and_whether_rated(
        superuser_client, stored_and_rated, japan_card):
    page = superuser_client.get(reverse("admin:usage_record_changelist"))

    assert page.status_code == 200
    by_id = {row[2]: row for row in rows(page)}
    assert set(by_id) == {"r-1", "r-2"}
    assert japan_card.iccid in by_id["r-1"] and "235000" in "".join(by_id["r-1"])
    html = page.content.decode()
    # the rated column: r-1 rated (the cursor is past it), r-2 still waiting
    assert html.count('alt="True"') == 1 and html.count('alt="False"') == 1


def test_staff_find_a_record_by_its_exact_id_and_filter_by_source_and_rating(
        superuser_client, stored_and_rated, japan_card, now):
    rated, waiting = stored_and_rated
    url = reverse("admin:usage_record_changelist")

    found = rows(superuser_client.get(url, {"q": "r-2"}))
    only_waiting = rows(superuser_client.get(url, {"rated": "no"}))
    only_rated = rows(superuser_client.get(url, {"rated": "yes", "source__id__exact":
                                                 rated.source_id}))
    usage_store([record("r-1", japan_card, now)], source="radius")
    radius = Source.objects.get(name="radius")
    other_source = rows(superuser_client.get(url, {"source__id__exact": radius.pk}))

    assert [row[2] for row in found] == ["r-2"]
    assert [row[2] for row in only_waiting] == ["r-2"]
    assert [row[2] for row in only_rated] == ["r-1"]
    assert [(row[1], row[2]) for row in other_source] == [("radius", "r-1")]


def test_staff_read_sources_and_rating_runs(superuser_client, stored_and_rated):
    rated, _waiting = stored_and_rated
    run = RatingRun.objects.get()

    sources = superuser_client.get(reverse("admin:usage_source_changelist"))
    runs = superuser_client.get(reverse("admin:usage_ratingrun_changelist"))

    assert sources.status_code == 200 and "mediation" in sources.content.decode()
    assert runs.status_code == 200
    assert [[str(run.pk), str(run.after), str(run.through), "1", "1"]] == [
        row[:5] for row in rows(runs)]
    assert superuser_client.get(
        reverse("admin:usage_record_change", args=[rated.pk])).status_code == 200


@pytest.mark.parametrize("model", [Source, Record, RatingRun])
def test_usage_records_sources_and_runs_cannot_be_added_changed_or_deleted(
        model, superuser_client, stored_and_rated, rf, make_user):
    name = model._meta.model_name
    obj = model.objects.first()

    assert superuser_client.get(reverse(f"admin:usage_{name}_add")).status_code == 403
    change = superuser_client.post(reverse(f"admin:usage_{name}_change", args=[obj.pk]), {})
    assert change.status_code == 403
    assert superuser_client.post(reverse(f"admin:usage_{name}_delete", args=[obj.pk]),
                                 {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()
    request = rf.get("/admin/")
    request.user = make_user("root@example.com", is_staff=True, is_superuser=True)
    model_admin = site._registry[model]
    assert model_admin.has_view_permission(request)
    assert not (model_admin.has_add_permission(request)
                or model_admin.has_change_permission(request)
                or model_admin.has_delete_permission(request))
