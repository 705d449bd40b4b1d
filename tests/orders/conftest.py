"""A small shop for the order tests: alice, her card, plans priced in USD and EUR, and a
stock of new eSIMs; plus helpers that play the gateway's part."""

import itertools

import pytest

from simdesk.cards.iccid import iccid_with_check_digit
from simdesk.cards.models import Card
from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
from simdesk.catalog.services import plan_upsert

GB = 10**9
_serial = itertools.count(1)


def new_iccid() -> str:
    return iccid_with_check_digit(f"894470020{next(_serial):09d}")


@pytest.fixture
def make_plan(db, now):
    def make(code="europe-5gb-30d", *, prices=None, **terms):
        defaults = {"kind": PlanKind.BASE, "data_bytes": 5 * GB, "validity_days": 30,
                    "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
                    "region": None}
        defaults.update(terms)
        return plan_upsert(code=code, terms=defaults,
                           translations={"en": (f"Plan {code}", ""),
                                         "zh-hans": (f"套餐 {code}", "")},
                           prices=prices or {"USD": 1200, "EUR": 1100}, countries=("FR",),
                           now=now)

    return make


@pytest.fixture
def plan(make_plan):
    """A 5 GB, 30-day plan at 12.00 USD / 11.00 EUR."""
    return make_plan()


@pytest.fixture
def make_card(db):
    def make(*, owner=None, activation_code="", **fields):
        card = Card(iccid=new_iccid(), owner=owner, activation_code=activation_code, **fields)
        card.set_claim_code("ABC123")
        card.save()
        return card

    return make


@pytest.fixture
def card(make_card, alice):
    """alice owns one card with no plan on it yet."""
    return make_card(owner=alice)


@pytest.fixture
def esim_stock(make_card):
    """Two new eSIMs staff imported for sale, nobody's yet."""
    return [make_card(activation_code=f"1$smdp.example.com$MATCH-{i:04d}") for i in range(2)]


@pytest.fixture
def bob(make_user):
    return make_user("bob@example.com")


@pytest.fixture
def gateway_says(django_capture_on_commit_callbacks):
    """gateway_says(order, "succeeded" | "failed" | "cancelled", failure_code=…): the
    gateway's verdict on the order's current payment, applied as a webhook would, with
    the after-commit signals run."""
    from simdesk.payments.services import payment_apply_outcome

    def say(order, outcome, *, now, failure_code=""):
        order.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            payment_apply_outcome(payment=order.payment, outcome=outcome, source="test",
                                  now=now, failure_code=failure_code)
        order.refresh_from_db()
        return order

    return say


_buy_keys = itertools.count(1)


@pytest.fixture
def bought(alice, card, django_capture_on_commit_callbacks):
    """bought(plan, at=…, currency=…) → alice's fulfilled order of ``plan`` on her card,
    paid on the sandbox at ``at``."""

    from simdesk.orders.models import OrderStatus
    from simdesk.orders.services import order_create
    from tests.orders.refund_fixtures import pay_on_sandbox

    def buy(plan, *, at, currency="USD", customer=None, on_card=None):
        order = order_create(customer=customer or alice, card=on_card or card, plan=plan,
                             currency=currency, idempotency_key=f"buy-{next(_buy_keys)}",
                             now=at)
        order = pay_on_sandbox(order, now=at, capture=django_capture_on_commit_callbacks)
        assert order.status == OrderStatus.FULFILLED
        order.period.refresh_from_db()
        return order

    return buy
