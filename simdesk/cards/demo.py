"""Demo cards: two cards of the demo customer with a month of history, and a few unclaimed
cards in stock whose claim codes ``simdesk demo`` prints.

Everything goes through the real services (import, claim, purchase, usage), in time
order. Idempotent: a card that already has history is left as it is, so running the
demo again changes nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from simdesk.catalog.models import Plan

from .iccid import iccid_with_check_digit
from .models import Card
from .services import (
    card_claim,
    card_debit_usage,
    card_label_set,
    cards_import_rows,
    period_create,
    periods_advance,
)

MB = 10**6
SMDP = "rsp.simdesk.example"


@dataclass(frozen=True)
class DemoCard:
    iccid: str
    claim_code: str
    activation_code: str = ""
    imsi: str = ""
    msisdn: str = ""
    label: str = ""


PHONE = DemoCard(iccid_with_check_digit("894450019900000011"), "PH7Q-41KD",
                 f"LPA:1${SMDP}$DEMO-PHONE-0011", label="Phone eSIM")
ROUTER = DemoCard(iccid_with_check_digit("894450019900000029"), "RT3M-85WX",
                  imsi="001019900000029", msisdn="447700900029", label="Travel router")
INVENTORY = [
    DemoCard(iccid_with_check_digit(f"89445001990000010{n}"), code,
             f"LPA:1${SMDP}$DEMO-STOCK-010{n}")
    for n, code in ((1, "K7QF-29XM"), (2, "P3ZD-81WA"), (3, "H5TR-64NB"))
]


@dataclass
class DemoCards:
    customer_cards: list[Card]
    inventory: list[DemoCard]


def _daily_bytes(day: int, base: int) -> int:
    """A deterministic day-to-day wobble between 0.5× and 1.7× ``base``."""
    return base // 2 + (day * 7919 % 13) * base // 10


def _plans(now: datetime) -> dict[str, Plan]:
    codes = ["asia-pacific-8gb-15d", "japan-10gb-30d", "japan-3gb-7d", "global-3gb-30d",
             "topup-global-1gb"]
    plans = {plan.code: plan for plan in Plan.objects.filter(code__in=codes)}
    if len(plans) < len(codes):
        # Plans come only from the catalog's own demo loader.
        from simdesk.catalog.demo import demo_catalog_load

        demo_catalog_load(now=now)
        plans = {plan.code: plan for plan in Plan.objects.filter(code__in=codes)}
    return plans


def _stock(cards: list[DemoCard], now: datetime) -> None:
    existing = set(Card.objects.filter(iccid__in=[c.iccid for c in cards])
                   .values_list("iccid", flat=True))
    rows = [(n, {"iccid": c.iccid, "claim_code": c.claim_code,
                 "activation_code": c.activation_code, "imsi": c.imsi, "msisdn": c.msisdn})
            for n, c in enumerate(cards, start=2) if c.iccid not in existing]
    if rows:
        report = cards_import_rows(rows=rows, now=now)
        if report.errors:
            raise RuntimeError(f"demo cards could not be imported: {report.errors}")


def _history(card: Card, *, now: datetime, purchases: list[tuple[int, str]],
             daily_base: int, plans: dict[str, Plan], days: int = 30) -> None:
    """Replay purchases (hours ago, plan code) and ``days`` days of daily usage in time
    order, each through the services at its own moment."""
    events: list[tuple[datetime, int, Callable[[datetime], object]]] = []
    for hours_ago, code in purchases:
        def buy(at, code=code):
            return period_create(card=card, plan=plans[code], source=f"demo:{card.iccid}:{code}",
                                 now=at)
        events.append((now - timedelta(hours=hours_ago), 0, buy))
    for day in range(days, -1, -1):
        # one record a day; today's arrived twenty minutes ago
        at = now - timedelta(minutes=20) if day == 0 else now - timedelta(days=day, hours=2)
        amount = _daily_bytes(day, daily_base) // (4 if day == 0 else 1)

        def use(at, amount=amount):
            return card_debit_usage(card=card, bytes=amount,
                                    reference=f"demo:{card.iccid}:{at.date().isoformat()}",
                                    at=at, now=at)
        events.append((at, 1, use))
    for at, _order, action in sorted(events, key=lambda e: (e[0], e[1])):
        action(at)
    periods_advance(card=card, now=now)


def demo_cards_load(*, now: datetime, customer) -> DemoCards:
    """Give ``customer`` a phone eSIM and a travel-router data card with a month of
    purchases and usage, and put three unclaimed eSIMs in stock."""
    plans = _plans(now)
    _stock([PHONE, ROUTER, *INVENTORY], now)

    owned = []
    for demo in (PHONE, ROUTER):
        card = Card.objects.get(iccid=demo.iccid)
        if card.owner_id is None:
            card = card_claim(customer=customer, iccid=demo.iccid, claim_code=demo.claim_code,
                              now=now - timedelta(days=33))
            card_label_set(card=card, label=demo.label, now=now)
        owned.append(card)

    phone, router = owned
    if not phone.ledger.exists():
        # An Asia-Pacific plan started on first use a month ago; a Japan month queued
        # behind it took over when it ended; a week in Japan waits in the queue.
        _history(phone, now=now, plans=plans, daily_base=300 * MB, purchases=[
            (32 * 24, "asia-pacific-8gb-15d"), (20 * 24, "japan-10gb-30d"),
            (24, "japan-3gb-7d")])
    if not router.ledger.exists():
        # A global 3 GB month bought 29 days ago, and a 1 GB top-up beside it.
        _history(router, now=now, plans=plans, daily_base=80 * MB, days=29, purchases=[
            (29 * 24 + 3, "global-3gb-30d"), (3 * 24, "topup-global-1gb")])
    for card in owned:
        card.refresh_from_db()
    return DemoCards(customer_cards=owned, inventory=INVENTORY)
