"""Every sign-in, sign-up and account-security page renders, in English and in Chinese.

allauth's pages use simdesk's layout (``allauth/layouts/base.html``) and its
fields template (``allauth/elements/fields.html``), which the stylesheet styles.
"""

import re

import pytest
from django.urls import reverse

PASSWORD = "correct horse battery"
LANGUAGES = {"en": "en", "zh-Hans": "zh-hans"}


def assert_renders(response, language):
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    assert f'<html lang="{LANGUAGES[language]}">' in html
    assert '<div class="panel narrow auth">' in html  # simdesk's layout, not allauth's bare one
    assert 'href="/static/simdesk/css/site.css"' in html
    assert "{{" not in html and "{%" not in html
    assert not re.search(r"<label[^>]*>[^<]*:\s*</label>", html), "label with a trailing colon"
    if language == "zh-Hans":
        assert re.search(r"[\u4e00-\u9fff]", html[html.index("<main") :])
    return html


@pytest.fixture(params=list(LANGUAGES))
def language(request):
    return request.param


@pytest.mark.parametrize(
    "url_name", ["account_login", "account_signup", "account_reset_password"]
)
def test_it_renders_the_pages_for_visitors(client, db, language, url_name):
    response = client.get(reverse(url_name), HTTP_ACCEPT_LANGUAGE=language)

    html = assert_renders(response, language)
    assert 'method="post"' in html


def test_it_renders_the_email_code_page(client, db, language):
    client.post(
        reverse("account_signup"),
        {"email": "bob@example.com", "password1": PASSWORD, "password2": PASSWORD},
        HTTP_ACCEPT_LANGUAGE=language,
    )

    response = client.get(
        reverse("account_email_verification_sent"), HTTP_ACCEPT_LANGUAGE=language
    )

    html = assert_renders(response, language)
    assert 'name="code"' in html


def test_it_renders_the_password_reset_code_page(client, alice, language):
    client.post(reverse("account_reset_password"), {"email": "alice@example.com"})

    response = client.get(
        reverse("account_confirm_password_reset_code"), HTTP_ACCEPT_LANGUAGE=language
    )

    html = assert_renders(response, language)
    assert 'name="code"' in html


def test_it_shows_field_errors_next_to_the_field(client, alice, language):
    response = client.post(
        reverse("account_signup"),
        {"email": "not-an-address", "password1": "short", "password2": "other"},
        HTTP_ACCEPT_LANGUAGE=language,
    )

    html = assert_renders(response, language)
    assert '<div class="field has-error">' in html
    assert '<p class="error" role="alert">' in html


@pytest.mark.parametrize(
    "url_name",
    ["account_email", "account_change_password", "account_reauthenticate", "mfa_index"],
)
def test_it_renders_the_account_security_pages(client, alice, language, url_name):
    client.force_login(alice, backend="allauth.account.auth_backends.AuthenticationBackend")

    response = client.get(reverse(url_name), HTTP_ACCEPT_LANGUAGE=language)

    assert_renders(response, language)


def test_it_renders_the_authenticator_setup_page(client, alice, language):
    client.force_login(alice, backend="allauth.account.auth_backends.AuthenticationBackend")
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})

    response = client.get(reverse("mfa_activate_totp"), HTTP_ACCEPT_LANGUAGE=language)

    html = assert_renders(response, language)
    assert "data:image/svg+xml;base64," in html  # the QR code, served inline
