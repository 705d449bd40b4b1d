"""Which language a page is written in, and how a visitor changes it.

The browser's Accept-Language decides for a new visitor; the footer's switch sets
a cookie; a signed-in customer's saved language wins over both, in every session.
"""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation

from simdesk.accounts.models import User

PASSWORD = "correct horse battery"
ENGLISH_HEADLINE = "Mobile data that renews itself"
with translation.override("zh-hans"):
    # Whatever wording the catalogue holds; the tests below only need it to be Chinese.
    CHINESE_HEADLINE = translation.gettext(ENGLISH_HEADLINE)
assert CHINESE_HEADLINE != ENGLISH_HEADLINE, "the home page headline has no Chinese translation"
with translation.override("zh-hant"):
    TRADITIONAL_HEADLINE = translation.gettext(ENGLISH_HEADLINE)
assert TRADITIONAL_HEADLINE not in (ENGLISH_HEADLINE, CHINESE_HEADLINE), (
    "the home page headline has no Traditional Chinese translation"
)

# Each language offered, as the footer's switch names it: in that language itself.
OWN_NAMES = {
    "en": "English",
    "zh-hans": "简体中文",
    "zh-hant": "繁體中文",
    "ja": "日本語",
    "es": "español",
}


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()


def lang_of(response) -> str:
    html = response.content.decode()
    start = html.index("<html lang=\"") + len("<html lang=\"")
    return html[start : html.index('"', start)]


@pytest.mark.parametrize("header", ["zh-Hans", "zh-CN", "zh-cn,zh;q=0.9,en;q=0.8", "zh-SG"])
def test_it_answers_a_chinese_browser_in_simplified_chinese(client, db, header):
    response = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE=header)

    assert response.status_code == 200
    assert lang_of(response) == "zh-hans"
    assert CHINESE_HEADLINE in response.content.decode()
    assert ENGLISH_HEADLINE not in response.content.decode()
    assert response["Content-Language"] == "zh-hans"


@pytest.mark.parametrize(
    "header", ["zh-TW", "zh-HK", "zh-Hant", "zh-Hant-TW", "zh-tw,zh;q=0.9,en;q=0.8", "zh-MO"]
)
def test_it_answers_a_taiwan_or_hong_kong_browser_in_traditional_chinese(client, db, header):
    response = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE=header)

    assert response.status_code == 200
    assert lang_of(response) == "zh-hant"
    assert response["Content-Language"] == "zh-hant"
    assert TRADITIONAL_HEADLINE in response.content.decode()
    assert CHINESE_HEADLINE not in response.content.decode()


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("ja", "ja"),
        ("ja-JP,ja;q=0.9,en;q=0.8", "ja"),
        ("es-ES", "es"),
        ("es-MX,es;q=0.9", "es"),
        ("es-419", "es"),
    ],
)
def test_it_answers_a_japanese_or_spanish_browser_in_its_language(client, db, header, language):
    response = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE=header)

    assert response.status_code == 200
    assert lang_of(response) == language
    assert response["Content-Language"] == language
    with translation.override(language):
        assert translation.gettext(ENGLISH_HEADLINE) in response.content.decode()


@pytest.mark.parametrize("header", ["en-GB,en;q=0.9", "de-DE", ""])
def test_it_answers_other_browsers_in_english(client, db, header):
    response = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE=header)

    assert lang_of(response) == "en"
    assert ENGLISH_HEADLINE in response.content.decode()


@pytest.mark.parametrize(
    ("url_name", "chinese"),
    [
        ("account_login", ["忘记密码？", "记住我"]),
        ("account_signup", ["注册"]),
        ("account_reset_password", ["密码重置"]),
    ],
)
def test_it_shows_allauths_own_pages_in_chinese(client, db, url_name, chinese):
    response = client.get(reverse(url_name), HTTP_ACCEPT_LANGUAGE="zh-Hans")

    assert response.status_code == 200
    assert lang_of(response) == "zh-hans"
    for text in chinese:
        assert text in response.content.decode()


def test_it_lists_every_language_in_the_footer_in_its_own_name(client, db):
    html = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    for code, own_name in OWN_NAMES.items():
        assert f'value="{code}"' in html
        assert f'lang="{code}">{own_name}</button>' in html


@pytest.mark.parametrize("language", ["zh-hant", "ja", "es"])
def test_it_switches_to_each_new_language_from_the_footer(client, db, language):
    response = client.post(
        reverse("portal:set_language"),
        {"language": language, "next": reverse("portal:home")},
        HTTP_ACCEPT_LANGUAGE="zh-CN",
    )

    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == language
    page = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert lang_of(page) == language


def test_it_shows_allauths_own_pages_in_traditional_chinese(client, db):
    response = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="zh-TW")

    assert response.status_code == 200
    assert lang_of(response) == "zh-hant"
    assert "記住我" in response.content.decode()


def test_it_switches_language_from_the_footer_with_a_cookie(client, db):
    # given an English-speaking visitor on the sign-in page
    page = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="en")
    assert f'action="{reverse("portal:set_language")}"' in page.content.decode()

    # when they pick Chinese in the footer
    response = client.post(
        reverse("portal:set_language"),
        {"language": "zh-hans", "next": reverse("account_login")},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    # then they go back where they were, and the cookie remembers the choice
    assert response.status_code == 302
    assert response["Location"] == reverse("account_login")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    page = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en")
    assert lang_of(page) == "zh-hans"
    assert CHINESE_HEADLINE in page.content.decode()


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example.com/", "//evil.example.com/phish", "http://testserver.evil.com/"],
)
def test_it_never_sends_the_visitor_off_site_after_switching(client, db, next_url):
    response = client.post(
        reverse("portal:set_language"), {"language": "zh-hans", "next": next_url}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"


def test_it_ignores_a_language_it_does_not_offer(client, db):
    response = client.post(reverse("portal:set_language"), {"language": "xx", "next": "/"})

    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_it_refuses_to_switch_language_on_get(client, db):
    response = client.get(reverse("portal:set_language"), {"language": "zh-hans"})

    assert response.status_code == 405


def test_it_saves_a_signed_in_customers_choice_so_it_wins_over_the_browser(client, alice):
    # given alice, signed in, with an English browser and no saved language
    client.post(reverse("account_login"), {"login": "alice@example.com", "password": PASSWORD})
    assert alice.language == ""

    # when she switches to Chinese
    client.post(reverse("portal:set_language"), {"language": "zh-hans", "next": "/"})

    # then it is saved on her account
    alice.refresh_from_db()
    assert alice.language == "zh-hans"

    # and wins over her browser's English even without the cookie
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME)
    page = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en")
    assert lang_of(page) == "zh-hans"

    # and in a fresh session on another device after she signs in there
    other_device = Client()
    other_device.post(
        reverse("account_login"),
        {"login": "alice@example.com", "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    page = other_device.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.wsgi_request.user.is_authenticated
    assert lang_of(page) == "zh-hans"
    assert "欢迎回来" in page.content.decode()


def test_it_follows_the_browser_for_a_customer_who_never_chose(client, alice):
    client.force_login(alice)

    page = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="zh-CN")

    assert lang_of(page) == "zh-hans"
    assert User.objects.get(pk=alice.pk).language == ""
