"""PayPal tests run against the local peer (peer.py) over real HTTP on 127.0.0.1."""

from urllib.parse import urlsplit

import pytest
import requests
from django.utils import timezone

from tests.orders.conftest import card, make_card, make_plan, plan  # noqa: F401

from .peer import CLIENT_ID, CLIENT_SECRET, WEBHOOK_ID, get_peer


def configure(settings, peer) -> None:
    """Point simdesk's PayPal settings at ``peer`` and enable the gateway."""
    settings.PAYPAL_CLIENT_ID = CLIENT_ID
    settings.PAYPAL_CLIENT_SECRET = CLIENT_SECRET
    settings.PAYPAL_WEBHOOK_ID = WEBHOOK_ID
    settings.PAYPAL_ENVIRONMENT = "sandbox"
    settings.PAYPAL_API_BASE = peer.base_url
    settings.PAYMENT_GATEWAYS = ["sandbox", "paypal"]


def visit_paypal(url: str, *, payer: str = "buyer", cancel: bool = False) -> str:
    """The customer's browser at PayPal's approval page (``url``: the order's approve link);
    returns where PayPal sends it back to (PayPal's redirect, not followed)."""
    params = {"action": "cancel"} if cancel else {"payer": payer}
    response = requests.get(url, params=params, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:300]
    return response.headers["Location"]


def local(url: str) -> str:
    """An absolute address on simdesk as the Django test client requests it."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def post_webhook(client, webhook):
    body, headers = webhook
    headers = dict(headers)
    content_type = headers.pop("Content-Type")
    return client.post("/webhooks/paypal/", data=body, content_type=content_type,
                       headers=headers)


@pytest.fixture(scope="session")
def peer_server():
    return get_peer()


@pytest.fixture
def peer(settings, peer_server):
    """The PayPal peer, simdesk configured to use it, nothing left from other tests."""
    configure(settings, peer_server)
    peer_server.reset()
    return peer_server


@pytest.fixture
def now():
    """The real time: PayPal's answers and the return page are not time-travelled."""
    return timezone.now()


@pytest.fixture
def begin(alice, now, peer):
    """Start a PayPal payment for alice; (payment, approve link)."""
    from simdesk.payments.services import payment_start

    def start(key="order-1", *, amount_minor=999, currency="USD", save_method=False,
              customer=None):
        return payment_start(customer=customer or alice, gateway="paypal",
                             amount_minor=amount_minor, currency=currency,
                             reference=f"order:{key}", idempotency_key=key,
                             return_url=f"http://testserver/orders/{key}/",
                             save_method=save_method, now=now)

    return start
