"""alice's card on a 5 GB, 30-day queue plan at 12.00 USD, a saved sandbox card, and
auto-renewal switched on (24 h before the end); helpers to move data and time."""

from datetime import timedelta

import pytest

from simdesk.cards.services import card_debit_usage, period_create
from simdesk.payments.gateways.sandbox.models import SandboxPaymentMethod
from simdesk.payments.models import SavedPaymentMethod
from simdesk.renewals.services import renewal_settings_update
from tests.orders.conftest import GB, bob, make_card, make_plan, plan  # noqa: F401

SUCCEEDS = "4242424242424242"
DECLINES = "4000000000000002"


@pytest.fixture
def saved_method(alice, now):
    def save(number=SUCCEEDS, *, customer=None, token="sbxpm_alice"):  # noqa: S107
        customer = customer or alice
        SandboxPaymentMethod.objects.create(token=token, customer_ref=str(customer.pk),
                                            test_card=number, label=f"Visa {number[-4:]}",
                                            created_at=now)
        return SavedPaymentMethod.objects.create(customer=customer, gateway="sandbox",
                                                 token=token, label=f"Visa {number[-4:]}")

    return save


@pytest.fixture
def card(make_card, alice):  # noqa: F811
    return make_card(owner=alice)


@pytest.fixture
def started(now):
    """When alice's current period started: it ends 12 hours after ``now``."""
    return now - timedelta(days=30) + timedelta(hours=12)


@pytest.fixture
def current_period(card, plan, started):  # noqa: F811
    """alice's card has one active 5 GB period, ending at now + 12 h."""
    period = period_create(card=card, plan=plan, source="test:first", now=started)
    card.refresh_from_db()
    return period


@pytest.fixture
def renewing(card, alice, plan, current_period, saved_method, now):  # noqa: F811
    """Auto-renewal is on for the card: the same plan, 24 h before the end, saved Visa."""

    def switch_on(number=SUCCEEDS, *, hours=24, percent=None):
        method = saved_method(number)
        return renewal_settings_update(
            card=card, customer=alice, enabled=True, plan=plan, currency="USD",
            trigger_before_expiry_hours=hours, trigger_low_data_percent=percent,
            payment_method=method, now=now)

    return switch_on


@pytest.fixture
def use_data():
    counter = iter(range(1, 10**6))

    def use(card, nbytes, at):
        return card_debit_usage(card=card, bytes=nbytes, reference=f"usage:test:{next(counter)}",
                                at=at, now=at)

    return use
