import pytest
from django.test import Client


@pytest.fixture
def alice_token(alice, now):
    """alice has one personal access token; the fixture gives its plaintext."""
    from simdesk.accounts.tokens import token_create

    _token, plaintext = token_create(user=alice, name="laptop script", now=now)
    return plaintext


@pytest.fixture
def alice_api(alice_token):
    """A client that calls the API as alice with her token."""
    return Client(HTTP_AUTHORIZATION=f"Bearer {alice_token}")
