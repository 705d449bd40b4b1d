from datetime import timedelta

import pytest
from django.core.management import call_command

from simdesk.cards.demo import INVENTORY, PHONE, ROUTER, demo_cards_load
from simdesk.cards.iccid import luhn_is_valid
from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import Card, CardState, LedgerEntry, PeriodState
from simdesk.cards.selectors import card_balance, card_usage_by_day
from simdesk.catalog.demo import demo_catalog_load
from simdesk.core.clock import utcnow
from simdesk.demo.data import demo_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(now):
    users = demo_load(now=now)
    return users.customer


def test_the_demo_customer_owns_two_cards_with_a_month_of_usage(loaded, now):
    cards = list(Card.objects.filter(owner=loaded).order_by("iccid"))
    assert [c.iccid for c in cards] == sorted([PHONE.iccid, ROUTER.iccid])
    phone = Card.objects.get(iccid=PHONE.iccid)
    assert luhn_is_valid(phone.iccid)
    assert phone.activation.qr_payload.startswith("LPA:1$")
    assert phone.state == CardState.ACTIVE
    assert phone.usage_updated_at == now - timedelta(minutes=20)
    days = card_usage_by_day(card=phone, now=now, tz=loaded.zone, days=30)
    assert all(used > 0 for _day, used in days)

    balance = card_balance(card=phone, now=now)
    assert balance.has_data and balance.next_queued.plan_code == "japan-3gb-7d"
    states = dict(phone.periods.values_list("plan_code", "state"))
    assert states == {"asia-pacific-8gb-15d": PeriodState.EXPIRED,
                      "japan-10gb-30d": PeriodState.ACTIVE,
                      "japan-3gb-7d": PeriodState.QUEUED}
    router = Card.objects.get(iccid=ROUTER.iccid)
    assert card_balance(card=router, now=now).remaining_bytes > 0
    assert router.overage_bytes == 0 and phone.overage_bytes == 0
    assert list(ledger_violations()) == []


def test_the_demo_keeps_unclaimed_cards_in_stock_with_known_codes(loaded):
    for demo in INVENTORY:
        card = Card.objects.get(iccid=demo.iccid)
        assert card.owner is None
        assert card.check_claim_code(demo.claim_code.replace("-", ""))


def test_loading_the_demo_again_changes_nothing(loaded, now):
    rows = LedgerEntry.objects.count()
    demo_cards_load(now=now + timedelta(days=2), customer=loaded)
    assert LedgerEntry.objects.count() == rows
    assert Card.objects.count() == 2 + len(INVENTORY)


def test_the_cards_demo_loads_the_catalog_when_it_is_missing(make_user, now):
    customer = make_user("demo-solo@example.com")
    demo_cards_load(now=now, customer=customer)
    demo_catalog_load(now=now)
    assert Card.objects.filter(owner=customer).count() == 2


def test_the_demo_command_prints_the_claim_codes(capsys):
    call_command("demo")
    out = capsys.readouterr().out
    for demo in INVENTORY:
        assert f"{demo.iccid} / {demo.claim_code}" in out
    assert Card.objects.get(iccid=PHONE.iccid).usage_updated_at <= utcnow()
