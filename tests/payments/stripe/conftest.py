"""Fixtures of the Stripe tests: simdesk talks over HTTP to a local Stripe peer (localstripe).

The peer is one subprocess per test session (see ``local.py``), emptied before
each test; settings point the gateway at it.
"""

import pytest

from . import local


@pytest.fixture(scope="session")
def stripe_peer():
    """localstripe on a free 127.0.0.1 port, for the whole session; stopped at the end."""
    local.peer.start()
    yield local.peer
    local.peer.stop()


@pytest.fixture
def stripe(stripe_peer, settings):
    """Stripe enabled, with test keys, against the emptied peer (webhooks to the inbox)."""
    local.configure(settings)
    stripe_peer.register_webhook(local.inbox().url)
    return stripe_peer


@pytest.fixture
def begin(stripe, alice, now):
    """Start a Stripe payment for alice (9.99 USD unless told); (payment, pay page path)."""
    from simdesk.payments.services import payment_start

    def start(key="order-1", *, customer=None, amount_minor=999, currency="USD",
              save_method=False, return_url="http://testserver/orders/1/"):
        return payment_start(customer=customer or alice, gateway="stripe",
                             amount_minor=amount_minor, currency=currency,
                             reference=f"order:{key}", idempotency_key=key,
                             return_url=return_url, save_method=save_method, now=now)

    return start


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def confirm(alice_client, stripe, django_capture_on_commit_callbacks):
    """The pay page's script: the card becomes a PaymentMethod (as Stripe.js makes it), its
    id is POSTed to simdesk; the response. What runs after commit runs, as in production."""

    def post(payment, card=local.CARD_SUCCEEDS, *, method_id=None):
        method_id = method_id or stripe.payment_method(card)
        with django_capture_on_commit_callbacks(execute=True):
            return alice_client.post(f"/payments/stripe/pay/{payment.public_id}/confirm",
                                     {"payment_method": method_id})

    return post


@pytest.fixture
def visit(alice_client, django_capture_on_commit_callbacks):
    """alice's browser GETs a page; what runs after commit runs."""

    def get(url, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return alice_client.get(url, **kwargs)

    return get
