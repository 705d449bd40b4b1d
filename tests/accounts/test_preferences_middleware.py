"""A signed-in customer's saved language and time zone apply to every page they see."""

import pytest
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone, translation


def where_am_i(request):
    return JsonResponse(
        {"language": translation.get_language(), "zone": timezone.get_current_timezone_name()}
    )


urlpatterns = [path("where-am-i", where_am_i)]
pytestmark = pytest.mark.urls(__name__)


def test_it_uses_the_saved_time_zone_and_language_of_a_signed_in_customer(client, make_user):
    user = make_user("li@example.com", language="zh-hans", time_zone="Asia/Shanghai")
    client.force_login(user)

    answer = client.get("/where-am-i", HTTP_ACCEPT_LANGUAGE="en").json()

    assert answer == {"language": "zh-hans", "zone": "Asia/Shanghai"}


def test_it_uses_utc_and_the_browser_language_for_a_visitor(client, db):
    answer = client.get("/where-am-i", HTTP_ACCEPT_LANGUAGE="zh-CN").json()

    assert answer == {"language": "zh-hans", "zone": "UTC"}


def test_it_forgets_the_previous_customers_zone_on_the_next_visitors_request(client, make_user):
    user = make_user("li@example.com", time_zone="Asia/Shanghai")
    client.force_login(user)
    client.get("/where-am-i")
    client.logout()

    answer = client.get("/where-am-i").json()

    assert answer["zone"] == "UTC"
