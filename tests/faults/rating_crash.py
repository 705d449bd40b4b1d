"""The in-process half of the rating crash tests: run as ``python -m tests.faults.rating_crash``
from the project root, against the database the environment names.

    setup                      three cards (JSON out): ``plain`` (1 GB, takes all of its
                               usage), ``runs_out`` (30 MB, then overage) and ``queued``
                               (20 MB active, 1 GB queued behind it)
    store --batch B            ``usage_store`` batch B, print ``STORED {…}``, then wait
                               to be killed
    rate --batch B [--pause-at rating|cursor-move]
                               ``usage_rate`` batch B; with ``--pause-at``, stop at that
                               point, print ``PAUSED <point>`` and wait to be killed:
                               ``rating``, when the store has committed and the rating
                               is about to take the rating cursor; ``cursor-move``, when
                               a rating run has applied its records and is about to move
                               the cursor past them (its last statement before commit),
                               with the usage rows its transaction holds then (JSON).
                               Otherwise print ``RATED {…}``
    pending                    ``usage_rate_pending``, print ``RATED {…}``
    sweep                      the clock's rating sweep (``usage_rate_pending_sweep``),
                               run here, print ``RATED {…}``
    report                     what the database holds (``REPORT {…}``)

Batch B holds records ``b<B>-<n>`` for each card, the same whoever sends them; the
bytes a card should have been debited for some batches is ``expected_bytes``.
"""

import argparse
import json
import signal
import sys
from datetime import timedelta

SOURCE = "crash"
MB = 10**6
# Per card: its records of one batch, in MB (one of them carries nothing).
BATCH = {"plain": [3, 0, 7, 5], "runs_out": [8, 9, 7, 6, 5], "queued": [6, 6, 6, 6]}


def _django() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    import django

    django.setup()


def expected_bytes(batches) -> dict[str, int]:
    """What each card carries in ``batches`` (each batch counted once)."""
    return {name: len(set(batches)) * sum(mb) * MB for name, mb in BATCH.items()}


def setup() -> dict:
    from simdesk.accounts.models import User
    from simdesk.cards.iccid import iccid_with_check_digit
    from simdesk.cards.models import Card
    from simdesk.cards.services import period_create
    from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
    from simdesk.catalog.services import plan_upsert
    from simdesk.core.clock import utcnow

    now = utcnow()

    def plan(code, data_bytes):
        return plan_upsert(code=code, terms={
            "kind": PlanKind.BASE, "data_bytes": data_bytes, "validity_days": 30,
            "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
            "region": None}, translations={"en": (code, "")}, prices={"USD": 500},
            countries=("FR",), now=now - timedelta(days=1))

    big, small, tiny = plan("crash-1gb", 1000 * MB), plan("crash-30mb", 30 * MB), \
        plan("crash-20mb", 20 * MB)
    owner = User.objects.create_user("crash@example.com")
    cards = {}
    for n, (name, first) in enumerate((("plain", big), ("runs_out", small),
                                       ("queued", tiny))):
        card = Card.objects.create(iccid=iccid_with_check_digit(f"89447009977700000{n}"),
                                   owner=owner, label=f"crash-{name}")
        period_create(card=card, plan=first, source=f"crash:{name}",
                      now=now - timedelta(days=1))
        cards[name] = card.pk
    period_create(card=Card.objects.get(pk=cards["queued"]), plan=big, source="crash:next",
                  now=now - timedelta(days=1))
    return cards


def _records(batch: int) -> list:
    from simdesk.cards.models import Card
    from simdesk.core.clock import utcnow
    from simdesk.usage.services import UsageRecord

    cards = dict(Card.objects.filter(label__startswith="crash-")
                 .values_list("label", "pk"))
    ended = utcnow() - timedelta(minutes=10)
    records = []
    for name, sizes in BATCH.items():
        for n, mb in enumerate(sizes):
            at = ended + timedelta(seconds=n)
            records.append(UsageRecord(record_id=f"b{batch}-{name}-{n}",
                                       card_id=cards[f"crash-{name}"], bytes_up=mb * MB // 4,
                                       bytes_down=mb * MB - mb * MB // 4,
                                       started_at=at - timedelta(minutes=5), ended_at=at))
    return records


def _result(result) -> dict:
    return {"applied": result.applied, "duplicates": result.duplicates,
            "rejected": len(result.rejected),
            "exhausted": sorted(result.exhausted_card_ids)}


def _wait_to_be_killed(line: str) -> None:
    print(line, flush=True)
    while True:
        signal.pause()


def _pause_at(point: str):
    """A database wrapper that stops the process before the statement of ``point``."""
    from simdesk.cards.models import LedgerEntry
    from simdesk.usage.ledger_check import USAGE_KINDS
    from simdesk.usage.models import RatingCursor

    table = RatingCursor._meta.db_table
    seen = {"cursor": 0}

    def wrapper(execute, sql, params, many, context):
        if table in sql:
            seen["cursor"] += 1
            # The store takes the cursor first; the rating takes it next.
            if point == "rating" and seen["cursor"] == 2:
                _wait_to_be_killed(f"PAUSED {point}")
            if point == "cursor-move" and sql.lstrip().upper().startswith("UPDATE"):
                # What the run's open transaction holds by then: its usage rows.
                _wait_to_be_killed(f"PAUSED {point} " + json.dumps({
                    "usage_rows": LedgerEntry.objects.filter(kind__in=USAGE_KINDS).count()}))
        return execute(sql, params, many, context)

    return wrapper


def report() -> dict:
    from django.db.models import Sum

    from simdesk.cards.ledger_check import ledger_violations
    from simdesk.cards.models import Card, LedgerEntry, NetworkAction, NetworkActionKind
    from simdesk.usage.ledger_check import USAGE_KINDS, usage_violations
    from simdesk.usage.models import RatingCursor, RatingRun, Record

    through = RatingCursor.objects.get(pk=1).through
    out = {"through": through, "runs": RatingRun.objects.count(),
           "records": Record.objects.count(),
           "rated": Record.objects.filter(pk__lte=through).count(),
           "usage_rows": LedgerEntry.objects.filter(kind__in=USAGE_KINDS).count(),
           "violations": [str(v) for v in (*ledger_violations(), *usage_violations())],
           "cards": {}}
    for card in Card.objects.filter(label__startswith="crash-"):
        rated = Record.objects.filter(card=card, pk__lte=through).aggregate(
            total=Sum("bytes", default=0))["total"]
        out["cards"][card.label.removeprefix("crash-")] = {
            "rated_bytes": rated,
            "debited_bytes": sum(card.periods.values_list("used_bytes", flat=True))
            + card.overage_bytes,
            "overage_bytes": card.overage_bytes,
            "periods": sorted(card.periods.values_list("state", flat=True)),
            "disconnects": NetworkAction.objects.filter(
                card=card, action=NetworkActionKind.DISCONNECT).count()}
    return out


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="rating_crash")
    parser.add_argument("action", choices=["setup", "store", "rate", "pending", "sweep",
                                                   "report"])
    parser.add_argument("--batch", type=int, default=0)
    parser.add_argument("--pause-at", choices=["rating", "cursor-move"], default=None)
    args = parser.parse_args(argv)
    _django()
    from django.db import connection

    from simdesk.core.clock import utcnow
    from simdesk.usage.services import usage_rate, usage_rate_pending, usage_store

    if args.action == "setup":
        print(json.dumps(setup()))
    elif args.action == "store":
        result = usage_store(_records(args.batch), source=SOURCE)
        _wait_to_be_killed("STORED " + json.dumps(_result(result)))
    elif args.action == "rate":
        records = _records(args.batch)
        if args.pause_at:
            with connection.execute_wrapper(_pause_at(args.pause_at)):
                usage_rate(records, source=SOURCE, now=utcnow())
            raise SystemExit(f"usage_rate never reached {args.pause_at}")
        print("RATED " + json.dumps(_result(usage_rate(records, source=SOURCE,
                                                       now=utcnow()))))
    elif args.action == "pending":
        print("RATED " + json.dumps(_result(usage_rate_pending(now=utcnow()))))
    elif args.action == "sweep":
        from simdesk.usage.tasks import usage_rate_pending_sweep

        print("RATED " + json.dumps({"applied": usage_rate_pending_sweep.call()}))
    else:
        print("REPORT " + json.dumps(report()))


if __name__ == "__main__":
    main(sys.argv[1:])
