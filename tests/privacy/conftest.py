"""A customer with a history: a physical card and an eSIM, a paid order that put a
period on the card, usage over two days, a saved payment method with auto-renewal
on, an API token, sent e-mails, a second factor — and bob, with his own history."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator

from simdesk.accounts.models import User
from simdesk.accounts.tokens import token_create
from simdesk.cards.models import Card, Period
from simdesk.cards.services import card_debit_usage
from simdesk.orders.models import Order
from simdesk.orders.services import order_create, order_pay
from simdesk.payments.gateways.sandbox.models import SandboxPaymentMethod
from simdesk.payments.models import SavedPaymentMethod
from simdesk.renewals.services import renewal_settings_update
from tests.orders.conftest import GB, bob, gateway_says, make_card, make_plan, plan  # noqa: F401

PASSWORD = "correct horse battery"


@dataclass
class History:
    user: User
    card: Card
    esim: Card
    order: Order
    period: Period
    method: SavedPaymentMethod
    token_plaintext: str


@pytest.fixture
def make_history(plan, make_card, gateway_says, now, django_capture_on_commit_callbacks):  # noqa: F811
    def make(user, *, tag):
        card = make_card(owner=user, label=f"{tag}'s phone", claimed_at=now - timedelta(days=5))
        esim = make_card(owner=user, activation_code=f"1$smdp.example.com$MATCH-{tag}",
                         claimed_at=now - timedelta(days=5))
        order = order_create(customer=user, card=card, plan=plan, currency="USD",
                             idempotency_key=f"{tag}-1", now=now - timedelta(days=2))
        order_pay(order=order, gateway="sandbox", return_url="http://testserver/",
                  now=now - timedelta(days=2))
        order = gateway_says(order, "succeeded", now=now - timedelta(days=2))
        period = order.period
        for day, nbytes in ((2, 100_000_000), (1, 250_000_000)):
            card_debit_usage(card=card, bytes=nbytes, reference=f"usage:{tag}:{day}",
                             at=now - timedelta(days=day) + timedelta(hours=1),
                             now=now - timedelta(days=day) + timedelta(hours=1))
        SandboxPaymentMethod.objects.create(token=f"sbxpm_{tag}", customer_ref=str(user.pk),
                                            test_card="4242424242424242", label="Visa 4242",
                                            created_at=now)
        method = SavedPaymentMethod.objects.create(customer=user, gateway="sandbox",
                                                   token=f"sbxpm_{tag}", label="Visa 4242")
        card.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=False):
            renewal_settings_update(card=card, customer=user, enabled=True, plan=plan,
                                    currency="USD", trigger_before_expiry_hours=24,
                                    trigger_low_data_percent=None, payment_method=method,
                                    now=now)
        _token, plaintext = token_create(user=user, name=f"{tag} script", now=now)
        Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP,
                                     data={"secret": f"TOTPSECRET{tag.upper()}"})
        return History(user=user, card=card, esim=esim, order=order, period=period,
                       method=method, token_plaintext=plaintext)

    return make


@pytest.fixture
def alices(alice, make_history):
    """alice's history."""
    return make_history(alice, tag="alice")


@pytest.fixture
def bobs(bob, make_history):  # noqa: F811
    """bob's history, the same shape as alice's."""
    return make_history(bob, tag="bob")
