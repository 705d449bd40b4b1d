"""A customer signs up with a code from their e-mail, and later resets a forgotten password.

Everything goes through HTTP, with the URL and form field names of allauth 65.21
(``allauth/account/urls.py`` and ``allauth/account/forms.py``).
"""

import re

from django.conf import settings
from django.core import mail
from django.urls import reverse

from simdesk.accounts.models import User

from .conftest import code_from_last_mail

OLD_PASSWORD = "blue ferry at dawn 42"
NEW_PASSWORD = "seven quiet lanterns 17"


def sign_in(client, email, password):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def signed_in_email(client):
    """The e-mail of whoever the session belongs to, or None."""
    response = client.get(reverse("portal:home"))
    user = response.wsgi_request.user
    return user.email if user.is_authenticated else None


def test_it_signs_a_new_customer_up_with_the_code_from_their_email(client, db):
    # given a visitor on the sign-up page
    assert client.get(reverse("account_signup")).status_code == 200

    # when they sign up
    response = client.post(
        reverse("account_signup"),
        {"email": "Bob@Example.com", "password1": OLD_PASSWORD, "password2": OLD_PASSWORD},
    )

    # then they are asked for the code sent to their address, and are not signed in yet
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["bob@example.com"]
    assert mail.outbox[0].subject.startswith(f"[{settings.SITE_NAME}] ")
    assert mail.outbox[0].body.startswith(f"Hello from {settings.SITE_NAME}!")
    assert signed_in_email(client) is None

    # when they enter the code from the e-mail
    code = code_from_last_mail("bob@example.com")
    response = client.post(reverse("account_email_verification_sent"), {"code": code})

    # then they are signed in, with a verified address
    assert response.status_code == 302
    assert signed_in_email(client) == "bob@example.com"
    user = User.objects.get(email="bob@example.com")
    assert user.emailaddress_set.get().verified


def test_it_refuses_a_wrong_verification_code(client, db):
    # given a visitor who has just signed up
    client.post(
        reverse("account_signup"),
        {"email": "bob@example.com", "password1": OLD_PASSWORD, "password2": OLD_PASSWORD},
    )

    # when they type a code that was not sent
    response = client.post(reverse("account_email_verification_sent"), {"code": "AAAA-BBBB"})

    # then the page says so and they stay signed out, with the address unverified
    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert signed_in_email(client) is None
    assert not User.objects.get(email="bob@example.com").emailaddress_set.get().verified


def test_it_writes_to_a_chinese_visitor_in_chinese_and_remembers_the_language(client, db):
    client.post(
        reverse("account_signup"),
        {"email": "li@example.com", "password1": OLD_PASSWORD, "password2": OLD_PASSWORD},
        HTTP_ACCEPT_LANGUAGE="zh-CN",
    )

    assert User.objects.get(email="li@example.com").language == "zh-hans"
    assert mail.outbox[0].body.startswith(f"您好，这里是 {settings.SITE_NAME}！")
    assert "验证代码" in mail.outbox[0].body


def test_it_resets_a_forgotten_password_with_the_code_from_the_email(client, make_user):
    # given bob, signed up and signed in
    make_user("bob@example.com", OLD_PASSWORD)
    assert sign_in(client, "bob@example.com", OLD_PASSWORD).status_code == 302
    assert signed_in_email(client) == "bob@example.com"

    # when he signs out
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert signed_in_email(client) is None

    # and asks to reset his password
    response = client.post(reverse("account_reset_password"), {"email": "bob@example.com"})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_confirm_password_reset_code")

    # and enters the code from the e-mail
    code = code_from_last_mail("bob@example.com")
    response = client.post(reverse("account_confirm_password_reset_code"), {"code": code})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_complete_password_reset")

    # and chooses a new password
    response = client.post(
        reverse("account_complete_password_reset"),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    client.post(reverse("account_logout"))

    # then the old password no longer signs him in
    response = sign_in(client, "bob@example.com", OLD_PASSWORD)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert signed_in_email(client) is None

    # and the new one does
    response = sign_in(client, "bob@example.com", NEW_PASSWORD)
    assert response.status_code == 302
    assert signed_in_email(client) == "bob@example.com"


def test_it_refuses_a_wrong_password_reset_code(client, make_user):
    make_user("bob@example.com", OLD_PASSWORD)
    client.post(reverse("account_reset_password"), {"email": "bob@example.com"})

    response = client.post(reverse("account_confirm_password_reset_code"), {"code": "AAAA-BBBB"})

    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert client.get(reverse("account_complete_password_reset")).status_code == 302
    assert User.objects.get(email="bob@example.com").check_password(OLD_PASSWORD)


def test_it_answers_a_reset_request_alike_for_known_and_unknown_addresses(client, make_user):
    """No account enumeration: the page cannot tell who has an account."""
    make_user("bob@example.com", OLD_PASSWORD)

    known = client.post(reverse("account_reset_password"), {"email": "bob@example.com"})
    client.cookies.clear()
    unknown = client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    # both get a code page that looks the same
    client.cookies.clear()
    client.post(reverse("account_reset_password"), {"email": "bob@example.com"})
    known_page = client.get(known["Location"])
    client.cookies.clear()
    client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})
    unknown_page = client.get(unknown["Location"])
    assert known_page.status_code == unknown_page.status_code == 200
    assert strip_tokens(known_page.content) == strip_tokens(unknown_page.content).replace(
        b"nobody@example.com", b"bob@example.com"
    )


def strip_tokens(html: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", html)
