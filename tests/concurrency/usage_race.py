"""The in-process half of the usage race: run as ``python -m tests.concurrency.usage_race``
from the project root, in its own process, against the database the environment names.

    setup --cards N                N cards (JSON out), by turns: 1 GB that takes all of
                                   its usage, 40 MB that runs out (then overage), 20 MB
                                   with 1 GB queued behind it
    hammer --seed S --seconds T    until T seconds have passed: batches of records drawn
                                   from one pool (so the same record arrives from several
                                   processes at once) sent with ``usage_rate``, or kept
                                   with ``usage_store`` and left to the next rating, and
                                   now and then ``usage_rate_pending``; prints an
                                   ``ANSWERED [numbers]`` line after each batch that was
                                   answered, and at the end ``REPORT`` with the record
                                   numbers sent and what was kept
    pending                        ``usage_rate_pending`` (``RATED {…}``)
    report                         what the database holds (``REPORT {…}``)

Record ``u<n>`` belongs to card ``n % N`` and carries ``record_bytes(n)``, whoever
sends it.
"""

import argparse
import json
import os
import random
import sys
import time
import traceback
from datetime import timedelta

SOURCE = "usage-race"
POOL = 2000
MB = 10**6
KINDS = ("plain", "runs_out", "queued")
DATA = {"plain": 1000 * MB, "runs_out": 40 * MB, "queued": 20 * MB}


def record_bytes(number: int) -> int:
    """What record ``u<number>`` carries (0.1–1 MB, some 0)."""
    return 0 if number % 89 == 0 else (number * 7919 % 10 + 1) * MB // 10


def kind_of(index: int) -> str:
    return KINDS[index % len(KINDS)]


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    import django

    django.setup()


def setup(cards: int) -> list[int]:
    from simdesk.accounts.models import User
    from simdesk.cards.iccid import iccid_with_check_digit
    from simdesk.cards.models import Card
    from simdesk.cards.services import period_create
    from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
    from simdesk.catalog.services import plan_upsert
    from simdesk.core.clock import utcnow

    since = utcnow() - timedelta(days=1)
    plans = {}
    for name, data_bytes in (*DATA.items(), ("next", 1000 * MB)):
        plans[name] = plan_upsert(code=f"usage-race-{name}", terms={
            "kind": PlanKind.BASE, "data_bytes": data_bytes, "validity_days": 30,
            "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
            "region": None}, translations={"en": (name, "")}, prices={"USD": 500},
            countries=("FR",), now=since)
    owner = User.objects.create_user("usage-race@example.com")
    ids = []
    for index in range(cards):
        card = Card.objects.create(iccid=iccid_with_check_digit(f"8944700996660{index:05d}"),
                                   owner=owner, label=f"usage-race-{index}")
        period_create(card=card, plan=plans[kind_of(index)], source=f"usage-race:{index}",
                      now=since)
        if kind_of(index) == "queued":
            period_create(card=card, plan=plans["next"], source=f"usage-race:{index}:next",
                          now=since)
        ids.append(card.pk)
    return ids


def hammer(seed: int, seconds: float) -> dict:
    from django.db import close_old_connections

    from simdesk.cards.models import Card
    from simdesk.core.clock import utcnow
    from simdesk.usage.services import UsageRecord, usage_rate, usage_rate_pending, usage_store

    rng = random.Random(seed)
    cards = list(Card.objects.filter(label__startswith="usage-race-").order_by("pk")
                 .values_list("pk", flat=True))
    counts = {"rate": 0, "store": 0, "pending": 0}
    sent: set[int] = set()
    kept = 0
    failures = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = utcnow()
        numbers = rng.sample(range(POOL), rng.randint(1, 40))
        records = []
        for n in numbers:
            ended = now - timedelta(milliseconds=rng.randint(0, 3000))
            records.append(UsageRecord(record_id=f"u{n}", card_id=cards[n % len(cards)],
                                       bytes_up=record_bytes(n) // 3,
                                       bytes_down=record_bytes(n) - record_bytes(n) // 3,
                                       started_at=ended - timedelta(minutes=1),
                                       ended_at=ended))
        step = rng.choices(["rate", "store", "pending"], weights=[6, 3, 1])[0]
        try:
            if step == "pending":
                usage_rate_pending(now=now)
            else:
                result = (usage_rate(records, source=SOURCE, now=now) if step == "rate"
                          else usage_store(records, source=SOURCE))
                assert not result.rejected, result.rejected
                assert result.applied + result.duplicates == len(records), result
                sent.update(numbers)
                kept += result.applied
                # Answered: whatever happens to this process next, these are kept.
                print("ANSWERED " + json.dumps(numbers), flush=True)
            counts[step] += 1
        except Exception:  # noqa: BLE001 — every error is a finding
            failures.append(f"{step}: {traceback.format_exc()}")
            close_old_connections()
    return {"counts": counts, "sent": sorted(sent), "kept": kept, "failures": failures}


def report() -> dict:
    from django.db.models import Count, Q, Sum

    from simdesk.cards.ledger_check import ledger_violations
    from simdesk.cards.models import Card, NetworkActionKind
    from simdesk.usage.ledger_check import usage_violations
    from simdesk.usage.models import RatingCursor, Record

    through = RatingCursor.objects.get(pk=1).through
    records = Record.objects.filter(source__name=SOURCE)
    cards = {}
    for index, card in enumerate(Card.objects.filter(label__startswith="usage-race-")
                                 .order_by("pk")):
        mine = records.filter(card=card).aggregate(
            kept=Sum("bytes", default=0), rated=Sum("bytes", filter=Q(pk__lte=through),
                                                    default=0))
        cards[index] = {
            **mine, "kind": kind_of(index),
            "debited": sum(card.periods.values_list("used_bytes", flat=True))
            + card.overage_bytes,
            "periods": sorted(card.periods.values_list("state", flat=True)),
            "disconnects": card.network_actions.filter(
                action=NetworkActionKind.DISCONNECT).count()}
    kept = records.aggregate(n=Count("id"), waiting=Count("id", filter=Q(pk__gt=through)))
    return {"records": kept["n"], "waiting": kept["waiting"],
            "record_ids": sorted(int(r.removeprefix("u"))
                                 for r in records.values_list("record_id", flat=True)),
            "violations": [str(v) for v in (*ledger_violations(), *usage_violations())],
            "cards": cards}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="usage_race")
    parser.add_argument("action", choices=["setup", "hammer", "pending", "report"])
    parser.add_argument("--cards", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args(argv)
    _django()
    if args.action == "setup":
        print(json.dumps(setup(args.cards)))
    elif args.action == "hammer":
        print("REPORT " + json.dumps(hammer(args.seed, args.seconds)))
    elif args.action == "pending":
        from simdesk.core.clock import utcnow
        from simdesk.usage.services import usage_rate_pending

        print("RATED " + json.dumps({"applied": usage_rate_pending(now=utcnow()).applied}))
    else:
        print("REPORT " + json.dumps(report()))


if __name__ == "__main__":
    main(sys.argv[1:])
