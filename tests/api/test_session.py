"""The browser session works on the API; unsafe methods need the CSRF token."""

from django.test import Client

CSRF_TOKEN = "a" * 32


def session_client(user, *, with_csrf: bool) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    if with_csrf:
        client.cookies["csrftoken"] = CSRF_TOKEN
        client.defaults["HTTP_X_CSRFTOKEN"] = CSRF_TOKEN
    return client


def test_it_reads_with_the_session_without_csrf(alice, at_now):
    response = session_client(alice, with_csrf=False).get("/api/v1/me")

    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.com"


def test_it_refuses_a_session_post_without_the_csrf_token(alice, at_now):
    response = session_client(alice, with_csrf=False).post(
        "/api/v1/tokens", {"name": "x"}, content_type="application/json")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "csrf_failed"
    assert not alice.access_tokens.exists()


def test_it_refuses_a_session_delete_without_the_csrf_token(alice, at_now, now):
    from simdesk.accounts.tokens import token_create

    token, _plaintext = token_create(user=alice, name="x", now=now)

    response = session_client(alice, with_csrf=False).delete(f"/api/v1/tokens/{token.public_id}")

    assert response.status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_it_accepts_a_session_post_with_the_csrf_token(alice, at_now):
    response = session_client(alice, with_csrf=True).post(
        "/api/v1/tokens", {"name": "x"}, content_type="application/json")

    assert response.status_code == 201
    assert alice.access_tokens.count() == 1


def test_it_needs_no_csrf_token_with_a_bearer_token(alice_token, at_now):
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {alice_token}")

    response = client.post("/api/v1/tokens", {"name": "x"}, content_type="application/json")

    assert response.status_code == 201


def test_it_answers_401_not_403_to_an_anonymous_post(db):
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/tokens", {"name": "x"}, content_type="application/json")

    assert response.status_code == 401
