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


GB = 1_000_000_000


@pytest.fixture
def bob(make_user):
    """bob is another customer."""
    return make_user("bob@example.com")


@pytest.fixture
def plan(db, now):
    """One 3 GB / 7-day plan for Japan, sold in USD and EUR."""
    from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
    from simdesk.catalog.services import plan_upsert

    return plan_upsert(
        code="japan-3gb-7d",
        terms={"kind": PlanKind.BASE, "data_bytes": 3 * GB, "validity_days": 7,
               "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
               "region": None},
        translations={"en": ("Japan 3 GB", "Three gigabytes in Japan")},
        prices={"USD": 650, "EUR": 600}, countries=("JP",), now=now)


@pytest.fixture
def alice_card(alice, plan, now):
    """alice owns one card with the Japan plan active (3 GB left)."""
    from simdesk.cards.iccid import iccid_with_check_digit
    from simdesk.cards.models import Card
    from simdesk.cards.services.periods import period_create

    card = Card(iccid=iccid_with_check_digit("894450010000000001"), owner=alice, claimed_at=now)
    card.set_claim_code("ABC123")
    card.save()
    period_create(card=card, plan=plan, source="test-order-1", now=now)
    return card


@pytest.fixture
def bob_card(bob, plan, now):
    """bob owns one card with the Japan plan active."""
    from simdesk.cards.iccid import iccid_with_check_digit
    from simdesk.cards.models import Card
    from simdesk.cards.services.periods import period_create

    card = Card(iccid=iccid_with_check_digit("894450010000000002"), owner=bob, claimed_at=now)
    card.set_claim_code("XYZ789")
    card.save()
    period_create(card=card, plan=plan, source="test-order-2", now=now)
    return card


@pytest.fixture
def at_now(now):
    """The API reads the real clock: move it to the tests' fixed ``now``."""
    import time_machine

    with time_machine.travel(now, tick=False):
        yield now


@pytest.fixture
def world(alice, bob, alice_token, alice_card, bob_card, plan, make_user, now):
    """Everything every operation needs, twice (alice's and bob's): a card with a plan
    on it, an order for it, a spare token, plus staff's operator key with every scope
    and one key per scope. ``world.ids`` maps each path parameter to alice's object."""
    from types import SimpleNamespace

    from simdesk.accounts.tokens import token_create
    from simdesk.api.keys import operator_key_create
    from simdesk.api.models import OperatorScope
    from simdesk.orders.services import order_create

    staff = make_user("ops@example.com", is_staff=True)
    orders = {
        who: order_create(customer=who, card=card, plan=plan, currency="USD", coupon_code="",
                          idempotency_key=f"world-{who.pk}", now=now, language="en")
        for who, card in ((alice, alice_card), (bob, bob_card))}
    spare, _plaintext = token_create(user=alice, name="spare", now=now)
    bob_spare, bob_token = token_create(user=bob, name="bob's", now=now)
    _key, operator_token = operator_key_create(name="all scopes", scopes=OperatorScope.values,
                                               created_by=staff, now=now)
    scoped = {scope: operator_key_create(name=scope, scopes=[scope], created_by=staff,
                                         now=now)[1] for scope in OperatorScope.values}
    return SimpleNamespace(
        alice=alice, bob=bob, staff=staff, plan=plan,
        alice_token=alice_token, bob_token=bob_token, operator_token=operator_token,
        scoped_tokens=scoped,
        ids={"card_id": alice_card.public_id, "order_id": orders[alice].public_id,
             "token_id": spare.public_id, "code": plan.code,
             "period_id": alice_card.periods.get().public_id},
        bob_ids={"card_id": bob_card.public_id, "order_id": orders[bob].public_id,
                 "token_id": bob_spare.public_id, "code": plan.code,
                 "period_id": bob_card.periods.get().public_id},
    )
