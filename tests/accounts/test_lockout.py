"""Too many wrong passwords lock the sign-in for a while (django-axes).

allauth signs in with ``email=`` credentials from a form field named ``login``;
axes must count those failures against the address, and answer a lockout with
an HTML page for people and an RFC 9457 problem for API clients.
"""

import json

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.contrib.auth import authenticate, login
from django.http import JsonResponse
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt

from .conftest import code_from_last_mail

PASSWORD = "correct horse battery"


@csrf_exempt
def api_session(request):
    """A JSON sign-in under /api/, the shape an API client's session login has."""
    body = json.loads(request.body or b"{}")
    user = authenticate(request, email=body.get("email"), password=body.get("password"))
    if user is None:
        return JsonResponse({"detail": "Wrong e-mail or password."}, status=401)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return JsonResponse({"email": user.email})


urlpatterns = [path("api/v1/session", api_session)]


def fail_to_sign_in(client, email, times):
    responses = []
    for _ in range(times):
        responses.append(
            client.post(reverse("account_login"), {"login": email, "password": "wrong guess"})
        )
    return responses


def test_it_records_each_failed_sign_in_against_the_address(client, alice):
    fail_to_sign_in(client, "Alice@Example.com", 2)

    attempt = AccessAttempt.objects.get()
    assert attempt.username == "alice@example.com"
    assert attempt.failures_since_start == 2
    assert AccessFailureLog.objects.count() == 2


def test_it_locks_out_after_the_failure_limit_even_with_the_right_password(client, alice):
    # given alice has typed a wrong password one time less than the limit
    responses = fail_to_sign_in(client, "alice@example.com", settings.AXES_FAILURE_LIMIT - 1)
    assert [r.status_code for r in responses] == [200] * (settings.AXES_FAILURE_LIMIT - 1)

    # when she gets it wrong once more
    response = fail_to_sign_in(client, "alice@example.com", 1)[0]

    # then she is locked out
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()

    # and even the right password is refused with the lockout page, not a session
    response = client.post(
        reverse("account_login"), {"login": "alice@example.com", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert b"Too many attempts" in response.content
    assert reverse("account_reset_password").encode() in response.content
    assert "_auth_user_id" not in client.session


def test_it_shows_the_lockout_page_in_the_visitors_language(client, alice):
    fail_to_sign_in(client, "alice@example.com", settings.AXES_FAILURE_LIMIT)

    response = client.post(
        reverse("account_login"),
        {"login": "alice@example.com", "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="zh-Hans",
    )

    assert response.status_code == 429
    assert "尝试次数过多" in response.content.decode()


def test_it_does_not_lock_out_a_customer_who_gets_it_right_before_the_limit(client, alice):
    fail_to_sign_in(client, "alice@example.com", settings.AXES_FAILURE_LIMIT - 1)

    response = client.post(
        reverse("account_login"), {"login": "alice@example.com", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert AccessAttempt.objects.count() == 0  # reset on success


def test_it_keeps_other_addresses_signing_in_from_the_same_place(client, alice, make_user):
    make_user("bob@example.com", PASSWORD)
    fail_to_sign_in(client, "alice@example.com", settings.AXES_FAILURE_LIMIT)

    response = client.post(
        reverse("account_login"), {"login": "bob@example.com", "password": PASSWORD}
    )

    assert response.status_code == 302


@pytest.mark.urls(__name__)
def test_it_answers_an_api_client_with_a_json_problem(client, alice):
    # given an API client that got the password wrong up to the limit
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(
            "/api/v1/session",
            {"email": "alice@example.com", "password": "wrong guess"},
            content_type="application/json",
        )
        assert response.status_code == 401

    # when it tries again
    response = client.post(
        "/api/v1/session",
        {"email": "alice@example.com", "password": "wrong guess"},
        content_type="application/json",
        HTTP_ACCEPT="application/json",
    )

    # then it gets a machine-readable 429
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    problem = json.loads(response.content)
    assert problem["status"] == 429
    assert problem["code"] == "locked_out"
    assert "Too many failed sign-in attempts" in problem["detail"]

    # and the right password is refused the same way
    response = client.post(
        "/api/v1/session",
        {"email": "alice@example.com", "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"


def test_it_lifts_the_lockout_once_the_password_is_reset(client, alice):
    # given alice is locked out
    fail_to_sign_in(client, "alice@example.com", settings.AXES_FAILURE_LIMIT)

    # when she resets her password with the code from her e-mail, as the lockout page offers
    client.post(reverse("account_reset_password"), {"email": "alice@example.com"})
    code = code_from_last_mail("alice@example.com")
    client.post(reverse("account_confirm_password_reset_code"), {"code": code})
    new_password = "seven quiet lanterns 17"
    response = client.post(
        reverse("account_complete_password_reset"),
        {"password1": new_password, "password2": new_password},
    )
    assert response.status_code == 302

    # then she can sign in with the new password at once
    response = client.post(
        reverse("account_login"), {"login": "alice@example.com", "password": new_password}
    )
    assert response.status_code == 302
    assert AccessAttempt.objects.count() == 0
