"""The account settings page: language, time zone and preferred currency."""

import pytest
from django.conf import settings
from django.urls import reverse

from simdesk.accounts.models import User


@pytest.fixture
def alice_signed_in(client, alice):
    """alice is signed in, with the defaults: browser language, UTC, no currency."""
    client.force_login(alice)
    return alice


def test_it_asks_a_visitor_to_sign_in_first(client, db):
    response = client.get(reverse("portal:settings"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_it_shows_the_current_preferences(client, alice_signed_in):
    response = client.get(reverse("portal:settings"))

    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial == {"language": "en", "time_zone": "UTC",
                            "currency": settings.DEFAULT_CURRENCY}
    assert 'list="time-zones"' in response.content.decode()
    assert '<option value="Asia/Shanghai">' in response.content.decode()


def test_it_names_each_language_in_that_language(client, alice_signed_in):
    response = client.get(reverse("portal:settings"), HTTP_ACCEPT_LANGUAGE="zh-Hans")

    html = response.content.decode()
    # the language the page is in is preselected, and each is named in itself
    assert '<option value="zh-hans" selected>简体中文</option>' in html
    assert '<option value="en">English</option>' in html


def test_it_saves_the_preferences(client, alice_signed_in):
    # when alice saves Chinese, Shanghai time and yuan
    response = client.post(
        reverse("portal:settings"),
        {"language": "zh-hans", "time_zone": " Asia/Shanghai ", "currency": "CNY"},
    )

    # then they are on her account
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:settings")
    user = User.objects.get(pk=alice_signed_in.pk)
    assert (user.language, user.time_zone, user.currency) == ("zh-hans", "Asia/Shanghai", "CNY")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"

    # and the page now speaks Chinese and confirms the save
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "您的偏好设置已保存。" in html
    assert page.context["form"].initial["time_zone"] == "Asia/Shanghai"


def test_it_refuses_a_time_zone_it_does_not_know(client, alice_signed_in):
    response = client.post(
        reverse("portal:settings"),
        {"language": "en", "time_zone": "Mars/Olympus_Mons", "currency": "USD"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["time_zone"] == [
        "“Mars/Olympus_Mons” is not a time zone we know. Pick one from the list, "
        "such as Asia/Shanghai."
    ]
    assert "Mars/Olympus_Mons" in response.content.decode()
    user = User.objects.get(pk=alice_signed_in.pk)
    assert (user.language, user.time_zone, user.currency) == ("", "UTC", "")


def test_it_explains_a_wrong_time_zone_in_chinese(client, alice_signed_in):
    response = client.post(
        reverse("portal:settings"),
        {"language": "zh-hans", "time_zone": "Shanghai", "currency": "CNY"},
        HTTP_ACCEPT_LANGUAGE="zh-Hans",
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "“Shanghai”不是我们认识的时区" in html
    assert User.objects.get(pk=alice_signed_in.pk).language == ""


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("currency", {"language": "en", "time_zone": "UTC", "currency": "XXX"}),
        ("language", {"language": "fr", "time_zone": "UTC", "currency": "USD"}),
        ("time_zone", {"language": "en", "time_zone": "", "currency": "USD"}),
    ],
)
def test_it_refuses_other_bad_input_without_saving_anything(client, alice_signed_in, field, data):
    response = client.post(reverse("portal:settings"), data)

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    user = User.objects.get(pk=alice_signed_in.pk)
    assert (user.language, user.time_zone, user.currency) == ("", "UTC", "")
