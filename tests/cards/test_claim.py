from datetime import timedelta

import pytest
from django.core.cache import cache

from simdesk.cards.models import CardEvent
from simdesk.cards.services import card_claim
from simdesk.core.errors import RateLimited, ServiceError

from .conftest import new_iccid

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def stock_card(make_card):
    """A card in inventory with the claim code ABCD-1234."""
    return make_card(claim_code="ABCD1234")


def refusal(**kwargs):
    with pytest.raises(ServiceError) as error:
        card_claim(**kwargs)
    assert not isinstance(error.value, RateLimited)
    return error.value.code, str(error.value)


def test_it_gives_the_card_to_the_customer_with_the_right_code(alice, stock_card, now):
    card = card_claim(customer=alice, iccid=stock_card.iccid, claim_code="abcd-1234", now=now)
    assert card.owner == alice and card.claimed_at == now
    assert CardEvent.objects.filter(card=card, kind=CardEvent.Kind.CLAIMED, actor=alice).exists()


def test_it_stores_the_claim_code_hashed(stock_card):
    assert "ABCD1234" not in stock_card.claim_code
    assert stock_card.check_claim_code("ABCD1234")


def test_it_answers_a_wrong_code_exactly_like_an_unknown_iccid(alice, stock_card, now):
    wrong_code = refusal(customer=alice, iccid=stock_card.iccid, claim_code="WRONG1", now=now)
    unknown = refusal(customer=alice, iccid=new_iccid(), claim_code="ABCD1234", now=now)
    assert wrong_code == unknown
    stock_card.refresh_from_db()
    assert stock_card.owner is None


def test_it_answers_a_card_owned_by_someone_else_the_same_way(alice, make_user, stock_card,
                                                               now):
    bob = make_user("bob@example.com")
    card_claim(customer=bob, iccid=stock_card.iccid, claim_code="ABCD1234", now=now)
    taken = refusal(customer=alice, iccid=stock_card.iccid, claim_code="ABCD1234", now=now)
    unknown = refusal(customer=alice, iccid=new_iccid(), claim_code="ABCD1234", now=now)
    assert taken == unknown
    stock_card.refresh_from_db()
    assert stock_card.owner == bob


def test_it_returns_the_card_when_the_owner_claims_it_again(alice, stock_card, now):
    card_claim(customer=alice, iccid=stock_card.iccid, claim_code="ABCD1234", now=now)
    again = card_claim(customer=alice, iccid=stock_card.iccid, claim_code="ABCD1234", now=now)
    assert again.owner == alice


def test_it_limits_attempts_per_customer(alice, stock_card, now, settings):
    settings.CARD_CLAIM_LIMIT_PER_CUSTOMER = 3
    for _ in range(3):
        refusal(customer=alice, iccid=stock_card.iccid, claim_code="WRONG1", now=now)
    with pytest.raises(RateLimited):
        card_claim(customer=alice, iccid=stock_card.iccid, claim_code="ABCD1234", now=now)
    # the next hour's window starts afresh
    card = card_claim(customer=alice, iccid=stock_card.iccid, claim_code="ABCD1234",
                      now=now + timedelta(hours=1))
    assert card.owner == alice


def test_it_limits_attempts_per_ip_address_across_customers(make_user, stock_card, now,
                                                            settings):
    settings.CARD_CLAIM_LIMIT_PER_IP = 2
    for n in range(2):
        refusal(customer=make_user(f"u{n}@example.com"), iccid=stock_card.iccid,
                claim_code="WRONG1", now=now, ip="203.0.113.9")
    with pytest.raises(RateLimited) as error:
        card_claim(customer=make_user("u9@example.com"), iccid=stock_card.iccid,
                   claim_code="ABCD1234", now=now, ip="203.0.113.9")
    assert error.value.status == 429
    assert "wait" in str(error.value)
