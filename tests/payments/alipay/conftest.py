"""Alipay's tests run against the local peer (peer.py): simdesk's settings point at it."""

import pytest

from simdesk.payments.services import payment_start

# Plans and cards as the order tests make them.
from tests.orders.conftest import card, make_card, make_plan  # noqa: F401, I001

from .peer import settings_for, shared_peer

RETURN_URL = "http://127.0.0.1:8000/orders/x/"


@pytest.fixture
def peer():
    """The peer, with no trades or notifies left from an earlier test."""
    peer = shared_peer()
    peer.reset()
    return peer


@pytest.fixture
def alipay(peer, settings):
    """simdesk's Alipay gateway configured against the peer, and the only one offered."""
    for name, value in settings_for(peer).items():
        setattr(settings, name, value)
    settings.PAYMENT_GATEWAYS = ["alipay"]
    return peer


@pytest.fixture
def start(alipay, alice, now):
    """start(key, amount_minor=, currency=) → alice's Alipay payment and its pay address."""

    def start_payment(key="order-1", *, amount_minor=6800, currency="CNY", customer=None,
                      return_url=RETURN_URL):
        return payment_start(customer=customer or alice, gateway="alipay",
                             amount_minor=amount_minor, currency=currency,
                             reference=f"order:{key}", idempotency_key=key,
                             return_url=return_url, now=now)

    return start_payment


@pytest.fixture
def alice_browser(client, alice):
    """alice's browser, logged in."""
    client.force_login(alice)
    return client

