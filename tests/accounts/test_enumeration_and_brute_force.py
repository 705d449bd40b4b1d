"""An attacker learns nothing about who has an account, and cannot guess passwords fast.

Sign-in, sign-up and password reset answer a known and an unknown address with the same
page (same status, same redirect, same text but for the address typed); the lockout
after AXES_FAILURE_LIMIT wrong passwords comes alike for both; a password spray across
many addresses from one place hits allauth's per-IP limit. (The lockout itself, its
page and its end: test_lockout.py; the reset's pages: test_signup_and_password_reset.py.)
"""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def page_text(response, *addresses) -> str:
    """The page as a person reads it, without tokens and the address they typed."""
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    for address in addresses:
        html = html.replace(address, "ADDRESS")
    return html


def test_a_wrong_password_reads_the_same_for_a_known_and_an_unknown_address(alice):
    known = Client().post(reverse("account_login"), {"login": alice.email, "password": "nope"})
    unknown = Client().post(reverse("account_login"),
                            {"login": "nobody@example.com", "password": "nope"})

    assert known.status_code == unknown.status_code == 200
    assert page_text(known, alice.email) == page_text(unknown, "nobody@example.com")


def test_the_lockout_comes_alike_for_a_known_and_an_unknown_address(alice):
    answers = {}
    for address in (alice.email, "nobody@example.com"):
        client = Client(REMOTE_ADDR="203.0.113.7")
        statuses = [client.post(reverse("account_login"),
                                {"login": address, "password": "nope"}).status_code
                    for _ in range(settings.AXES_FAILURE_LIMIT)]
        last = client.post(reverse("account_login"), {"login": address, "password": PASSWORD})
        answers[address] = (statuses, last.status_code, page_text(last, address))

    assert answers[alice.email] == answers["nobody@example.com"]
    assert answers[alice.email][1] == 429


def test_signing_up_with_a_taken_address_looks_like_signing_up_with_a_new_one(alice):
    form = {"password1": "a long pass phrase 42", "password2": "a long pass phrase 42"}
    taken = Client().post(reverse("account_signup"), {"email": alice.email, **form})
    new = Client().post(reverse("account_signup"), {"email": "new@example.com", **form})

    assert taken.status_code == new.status_code == 302
    assert taken["Location"] == new["Location"]
    # the owner of the taken address is told by e-mail, not the visitor on the page
    assert [m.to for m in mail.outbox if alice.email in m.to]


def test_a_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(alice):
    known = Client().post(reverse("account_reset_password"), {"email": alice.email})
    unknown = Client().post(reverse("account_reset_password"), {"email": "nobody@example.com"})

    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert all("nobody@example.com" not in m.to or "code" not in m.body.lower()
               for m in mail.outbox)


def test_a_password_spray_from_one_place_is_slowed_down(make_user):
    """Each address gets one guess (far from its lockout), but one place gets 10 wrong
    guesses a minute: after them even a right password is refused there."""
    from allauth.account.adapter import get_adapter

    too_many = str(get_adapter().error_messages["too_many_login_attempts"])
    addresses = [f"user{i}@example.com" for i in range(11)]
    for address in addresses:
        make_user(address)
    client = Client(REMOTE_ADDR="198.51.100.9")

    refused = [too_many in client.post(reverse("account_login"),
                                       {"login": address, "password": "Summer2026!"}
                                       ).content.decode()
               for address in addresses[:10]]
    last = client.post(reverse("account_login"), {"login": addresses[10], "password": PASSWORD})

    assert refused == [False] * 10
    assert last.status_code == 200 and too_many in last.content.decode()
    elsewhere = Client(REMOTE_ADDR="198.51.100.10").post(
        reverse("account_login"), {"login": addresses[10], "password": PASSWORD})
    assert elsewhere.status_code == 302


def test_reset_requests_for_one_address_are_limited(alice):
    client = Client()
    statuses = [client.post(reverse("account_reset_password"),
                            {"email": alice.email}).status_code for _ in range(8)]

    assert 429 in statuses
    assert len([m for m in mail.outbox if alice.email in m.to]) <= 5
