"""A customer protects their account with an authenticator app (TOTP, RFC 6238).

Turning it on asks for the password again first (allauth's re-authentication);
then every sign-in asks for the current code after the password.
"""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.urls import reverse

PASSWORD = "correct horse battery"
# Frozen time, so the code computed here is the one the server expects.
MOMENT = datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC)


def totp_code(secret: str, at: datetime = MOMENT, step: int = 30) -> str:
    """The code an authenticator app shows at ``at`` for ``secret``."""
    return format_hotp_value(hotp_value(secret, int(at.timestamp()) // step))


def secret_from_page(html: str) -> str:
    match = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7=]+)"', html, re.S)
    if match is None:
        match = re.search(r'value="([A-Z2-7=]+)"[^>]*id="authenticator_secret"', html, re.S)
    assert match, "the activation page shows no authenticator secret"
    return match.group(1)


def signed_in(client) -> bool:
    return client.get(reverse("portal:home")).wsgi_request.user.is_authenticated


def enrol(client) -> str:
    """Walk through turning TOTP on; returns the secret the page showed."""
    # allauth wants a fresh password before a security change
    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    response = client.post(response["Location"], {"password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")

    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 200
    secret = secret_from_page(response.content.decode())

    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == reverse("mfa_view_recovery_codes")
    return secret


@pytest.fixture
def frozen():
    with time_machine.travel(MOMENT, tick=False):
        yield


@pytest.fixture
def alice_signed_in(client, alice):
    """alice is signed in, but not just now: a security change wants her password again."""
    client.force_login(alice, backend="allauth.account.auth_backends.AuthenticationBackend")
    return alice


def test_it_turns_on_totp_after_asking_for_the_password_again(client, alice_signed_in, frozen):
    enrol(client)

    assert Authenticator.objects.filter(
        user=alice_signed_in, type=Authenticator.Type.TOTP
    ).exists()


def test_it_gives_recovery_codes_when_totp_is_turned_on(client, alice_signed_in, frozen):
    enrol(client)

    response = client.get(reverse("mfa_view_recovery_codes"))

    assert response.status_code == 200
    codes = response.context["unused_codes"]
    assert len(codes) >= 8
    assert all(code in response.content.decode() for code in codes)
    download = reverse("mfa_download_recovery_codes")
    assert re.search(rf'<a href="{download}"\s+class="button"', response.content.decode())
    assert Authenticator.objects.filter(
        user=alice_signed_in, type=Authenticator.Type.RECOVERY_CODES
    ).exists()


def test_it_refuses_to_turn_on_totp_with_a_wrong_code(client, alice_signed_in, frozen):
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    secret = secret_from_page(client.get(reverse("mfa_activate_totp")).content.decode())
    wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"

    response = client.post(reverse("mfa_activate_totp"), {"code": wrong})

    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert not Authenticator.objects.filter(user=alice_signed_in).exists()


def test_it_asks_for_the_code_after_the_password_and_signs_in_with_it(
    client, alice_signed_in, frozen
):
    # given alice has TOTP on and has signed out
    secret = enrol(client)
    client.post(reverse("account_logout"))

    # when she signs in with her password
    response = client.post(
        reverse("account_login"), {"login": "alice@example.com", "password": PASSWORD}
    )

    # then she is asked for the code, and not yet signed in
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert not signed_in(client)

    # when a minute later she types the code her app shows
    later = datetime(2026, 6, 1, 12, 1, 5, tzinfo=UTC)
    with time_machine.travel(later, tick=False):
        response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret, later)})

        # then she is signed in
        assert response.status_code == 302
        assert signed_in(client)


def test_it_refuses_a_wrong_code_at_sign_in(client, alice_signed_in, frozen):
    secret = enrol(client)
    client.post(reverse("account_logout"))
    client.post(reverse("account_login"), {"login": "alice@example.com", "password": PASSWORD})
    wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"

    response = client.post(reverse("mfa_authenticate"), {"code": wrong})

    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert not signed_in(client)


def test_it_signs_in_with_a_recovery_code_once(client, alice_signed_in, frozen):
    enrol(client)
    code = client.get(reverse("mfa_view_recovery_codes")).context["unused_codes"][0]
    client.post(reverse("account_logout"))

    client.post(reverse("account_login"), {"login": "alice@example.com", "password": PASSWORD})
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302
    assert signed_in(client)

    client.post(reverse("account_logout"))
    client.post(reverse("account_login"), {"login": "alice@example.com", "password": PASSWORD})
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 200
    assert not signed_in(client)
