"""Usage ingestion: N records rated exactly once, against the raw write of the same records,
on PostgreSQL and on SQLite in the same run.

Run from the project root:
    .venv/bin/python bench/usage_ingest.py [--records 1000000] [--cards 20000]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--only pg|sqlite]

Each database is measured in its own process (Django is configured once per process):
SQLite is a WAL file in a temporary directory with the project's settings; PostgreSQL
is a database ``simdesk_bench_<random>`` created on the server named by
``--database-url`` (an admin URL) and dropped at the end.

Setup (not timed): ``--cards`` customers, each with one card and one active 30-day
period, written with bulk_create in the shape the services write (period plus purchase
ledger row). Most periods have 5 GB; 0.25 % have 30 MB (they run out during the run,
half of them with a 1 GB period queued behind), 2 % are just under 80 % used (their
owner's first alert threshold), 1 % have a low-data auto-renewal trigger at 25 % left
and are near it. These cards get 10 MB more per record than the others.

Records: N distinct records of 10 kB to 2 MB, spread over the cards, in time order,
plus 2 % duplicates (half repeated inside their batch, half re-sent in a later batch),
sent as batches of 10,000 (the API's limit) under one source.

Rated (timed): every batch stored with ``usage_store`` (as the API and the CSV import
store it: checks, repeats dropped, unknown cards refused, one Record row per new
record), and rated with ``usage_rate_pending`` as a bulk import rates it: a full run
(``rating.CHUNK`` records, one transaction) whenever one waits, the rest at the end;
the time runs until every record is applied, including the disconnect requests, alert
checks and renewal runs it queues (task rows in the database task backend).

Baseline (timed, same run, same records, same batches): PostgreSQL — a raw COPY into a
bare table, one transaction per batch; SQLite — a batched executemany INSERT into a bare
table, one transaction per batch. Both run on the same connection, so with the same
durability: on SQLite the project's WAL journal with synchronous=NORMAL (each side's
figures include its share of WAL checkpoints), printed with the figures.

Checked after the run: applied and duplicates as sent, nothing rejected, every
distinct record stored once and rated (none waiting), the usage ledger rows of each
card adding up to its records' bytes, ``check-ledger``'s violations (periods and
records alike), the cards that ran out got a disconnect request, the alert checks and
renewal runs queued.

Ends with one line:
RESULT rated_pg_per_s=… copy_pg_per_s=… ratio_pg=… rated_sqlite_per_s=…
insert_sqlite_per_s=… ratio_sqlite=… duplicates=0 ledger_violations=0
"""

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import timedelta

from support import configure, postgres_database

BATCH = 10_000
SETUP_BATCH = 2000
MB = 10**6
GB = 10**9


# --- setup ------------------------------------------------------------------------------

def setup_cards(n: int, now, rng: random.Random) -> dict:
    """N cards with one active period each; returns card ids by role."""
    from django.contrib.auth.hashers import make_password

    from simdesk.accounts.models import User
    from simdesk.cards.iccid import iccid_with_check_digit
    from simdesk.cards.models import Card, CardState, LedgerEntry, LedgerKind, Period, PeriodState
    from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
    from simdesk.catalog.services import plan_upsert
    from simdesk.renewals.models import RenewalSettings

    unusable = make_password(None)
    plan = plan_upsert(code="bench-5gb-30d",
                       terms={"kind": PlanKind.BASE, "data_bytes": 5 * GB, "validity_days": 30,
                              "validity_start": ValidityStart.ON_PURCHASE,
                              "stacking": Stacking.QUEUE, "region": None},
                       translations={"en": ("Bench 5 GB", "")}, prices={"USD": 1200},
                       countries=("FR",), now=now)
    started = now - timedelta(days=3)
    names = {"en": "Bench 5 GB"}
    roles = {"small": [], "near_alert": [], "low_data": [], "queued": []}
    for lo in range(0, n, SETUP_BATCH):
        hi = min(n, lo + SETUP_BATCH)
        users = User.objects.bulk_create(
            User(email=f"usage{i}@example.com", password=unusable) for i in range(lo, hi))
        cards = Card.objects.bulk_create(
            Card(iccid=iccid_with_check_digit(f"894470077{i:09d}"), owner=user,
                 imsi=f"00101{i:010d}", state=CardState.ACTIVE, state_changed_at=started)
            for i, user in zip(range(lo, hi), users, strict=True))
        periods, credits, used, low_data = [], [], [], []
        for card in cards:
            draw = rng.random()
            total, spent, role = 5 * GB, rng.randrange(0, GB), None
            if draw < 0.0025:
                total, spent, role = 30 * MB, 0, "small"
            elif draw < 0.0225:
                total, spent, role = 5 * GB, 5 * GB * 80 // 100 - 20 * MB, "near_alert"
            elif draw < 0.0325:
                total, spent, role = 5 * GB, 5 * GB * 75 // 100 - 20 * MB, "low_data"
            if role:
                roles[role].append(card.pk)
            if role == "low_data":
                low_data.append(card.pk)
            periods.append(Period(
                card=card, plan=plan, plan_code=plan.code, names=names, kind=plan.kind,
                total_bytes=total, remaining_bytes=total - spent, used_bytes=spent,
                validity_days=30, validity_start=plan.validity_start, stacking=plan.stacking,
                state=PeriodState.ACTIVE, activated_at=started, starts_at=started,
                ends_at=started + timedelta(days=30), source=f"bench:{card.iccid}"))
        periods = Period.objects.bulk_create(periods)
        queued = []
        for card, period in zip(cards, periods, strict=True):
            credits.append(LedgerEntry(
                card=card, period=period, kind=LedgerKind.CREDIT_PURCHASE,
                bytes=period.total_bytes, balance_after=period.total_bytes,
                reference=f"purchase:{period.source}", at=started, created_at=started))
            if period.used_bytes:
                used.append(LedgerEntry(
                    card=card, period=period, kind=LedgerKind.DEBIT_USAGE,
                    bytes=-period.used_bytes, balance_after=period.remaining_bytes,
                    reference=f"usage:setup:{card.pk}", at=started, created_at=started))
            if period.total_bytes == 30 * MB and card.pk % 2 == 0:
                roles["queued"].append(card.pk)
                queued.append(Period(
                    card=card, plan=plan, plan_code=plan.code, names=names, kind=plan.kind,
                    total_bytes=GB, remaining_bytes=GB, validity_days=30,
                    validity_start=plan.validity_start, stacking=plan.stacking,
                    state=PeriodState.QUEUED, source=f"bench:next:{card.iccid}"))
        queued = Period.objects.bulk_create(queued)
        credits += [LedgerEntry(card_id=p.card_id, period=p, kind=LedgerKind.CREDIT_PURCHASE,
                                bytes=GB, balance_after=GB, reference=f"purchase:{p.source}",
                                at=started, created_at=started) for p in queued]
        LedgerEntry.objects.bulk_create(credits + used)
        RenewalSettings.objects.bulk_create(
            RenewalSettings(card_id=pk, enabled=True, plan=plan, currency="USD",
                            trigger_before_expiry_hours=None, trigger_low_data_percent=25,
                            changed_at=now)
            for pk in low_data)
    return roles


def make_records(n: int, card_ids: list[int], roles: dict, now, rng: random.Random,
                 batch: int = BATCH):
    """N distinct records in time order over the last hour, plus 2 % duplicates; batches."""
    from simdesk.usage.services import UsageRecord

    start = now - timedelta(hours=1)
    # Cards meant to cross something get a share of traffic large enough to do it.
    heavy = set(roles["small"]) | set(roles["near_alert"]) | set(roles["low_data"])
    distinct = []
    for i in range(n):
        card = card_ids[rng.randrange(len(card_ids))]
        size = rng.randrange(10_000, 2 * MB)
        if card in heavy:
            size += 10 * MB
        ended = start + timedelta(microseconds=i * 3_600_000_000 // n)
        up = size // 5
        distinct.append(UsageRecord(record_id=f"cdr-{i:09d}", card_id=card, bytes_up=up,
                                    bytes_down=size - up, started_at=ended - timedelta(minutes=5),
                                    ended_at=ended))
    # Batches of exactly BATCH records (the API's limit), duplicates included: a record
    # repeated inside its batch or re-sent in a later one.
    dup_count = n * 2 // 100
    fresh = batch - batch * 2 // 100
    batches = [distinct[lo:lo + fresh] for lo in range(0, n, fresh)]
    per_batch = [dup_count // len(batches)] * len(batches)
    for k in range(dup_count - sum(per_batch)):
        per_batch[k] += 1
    for b, extra in enumerate(per_batch):
        for k in range(extra):
            if k % 2 == 0 or b == 0:
                batches[b].append(batches[b][rng.randrange(len(batches[b]))])
            else:
                earlier = batches[rng.randrange(b)]
                batches[b].append(earlier[rng.randrange(len(earlier))])
    for batch in batches:
        rng.shuffle(batch)
    return distinct, batches, dup_count


# --- the two timed runs -------------------------------------------------------------------

def run_rated(batches, now, *, each_batch: bool) -> tuple[float, int, int, int]:
    """Every batch stored as the API and the CSV import store it, and rated in runs as
    a bulk import rates it: a full run whenever one waits, the rest at the end. With
    ``each_batch``: ``usage_rate`` per batch, as one API client sending one batch after
    the other gets it (a run per batch)."""
    from simdesk.usage.services import usage_rate, usage_rate_pending, usage_store

    applied = duplicates = rejected = rated = 0
    t0 = time.perf_counter()
    for i, batch in enumerate(batches):
        if each_batch:
            result = usage_rate(batch, source="bench", now=now)
            rated += result.applied
        else:
            result = usage_store(batch, source="bench")
            rated += usage_rate_pending(now=now, full_runs_only=True).applied
        applied += result.applied
        duplicates += result.duplicates
        rejected += len(result.rejected)
        if (i + 1) % 20 == 0:
            done = sum(len(b) for b in batches[:i + 1])
            print(f"  stored {done} records, rated {rated}, "
                  f"{done / (time.perf_counter() - t0):.0f}/s", file=sys.stderr, flush=True)
    rated += usage_rate_pending(now=now).applied
    assert rated == applied, (rated, applied)
    return time.perf_counter() - t0, applied, duplicates, rejected


def run_baseline(batches) -> float:
    from django.db import connection, transaction

    from simdesk.usage.rating import _sqlite_datetime

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("CREATE TABLE bench_raw (record_id text, card_id bigint, "
                           "bytes_up bigint, bytes_down bigint, started_at timestamptz, "
                           "ended_at timestamptz)")
        else:
            cursor.execute("CREATE TABLE bench_raw (record_id text, card_id integer, "
                           "bytes_up integer, bytes_down integer, started_at text, "
                           "ended_at text)")
    adapt = _sqlite_datetime  # the rating path's own (faster than Django's) conversion
    t0 = time.perf_counter()
    for batch in batches:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.copy("COPY bench_raw FROM STDIN") as copy:
                    for r in batch:
                        copy.write_row((r.record_id, r.card_id, r.bytes_up, r.bytes_down,
                                        r.started_at, r.ended_at))
            else:
                cursor.executemany(
                    "INSERT INTO bench_raw VALUES (%s, %s, %s, %s, %s, %s)",
                    [(r.record_id, r.card_id, r.bytes_up, r.bytes_down, adapt(r.started_at),
                      adapt(r.ended_at)) for r in batch])
    return time.perf_counter() - t0


def check(distinct, roles, applied: int, duplicates: int, dup_count: int) -> dict:
    from django.db.models import Sum

    from simdesk.cards.ledger_check import ledger_violations
    from simdesk.cards.models import Card, LedgerEntry, LedgerKind, NetworkAction
    from simdesk.usage.ledger_check import usage_violations
    from simdesk.usage.models import RatingCursor, RatingRun, Record

    per_card: dict[int, int] = {}
    for r in distinct:
        per_card[r.card_id] = per_card.get(r.card_id, 0) + r.bytes_up + r.bytes_down
    # Every usage row but the setup's (the usage the cards had before the run).
    usage = (LedgerEntry.objects.filter(kind__in=(LedgerKind.DEBIT_USAGE, LedgerKind.OVERAGE))
             .exclude(reference__startswith="usage:setup:"))
    by_card = dict(usage.values("card_id").annotate(s=Sum("bytes")).values_list("card_id", "s"))
    wrong_cards = sum(1 for card, total in per_card.items() if -by_card.get(card, 0) != total)
    wrong_cards += sum(1 for card in by_card if card not in per_card)
    stored = Record.objects.filter(source__name="bench")
    through = RatingCursor.objects.get(pk=1).through
    ran_out = set(Card.objects.filter(periods__state="exhausted")
                  .exclude(periods__state="active").values_list("pk", flat=True))
    disconnected = set(NetworkAction.objects.filter(action="disconnect")
                       .values_list("card_id", flat=True))
    from django_tasks_db.models import DBTaskResult

    alert_checks = DBTaskResult.objects.filter(task_path__endswith="card_alerts_check").count()
    renewals = DBTaskResult.objects.filter(task_path__endswith="renewal_run").count()
    t0 = time.perf_counter()
    violations = sum(1 for _ in ledger_violations()) + sum(1 for _ in usage_violations())
    return {
        "applied": applied, "distinct": len(distinct),
        "duplicates_reported": duplicates, "duplicates_sent": dup_count,
        "rated_rows": stored.filter(pk__lte=through).count(),
        "waiting_rows": stored.filter(pk__gt=through).count(),
        "rating_runs": RatingRun.objects.count(), "usage_ledger_rows": usage.count(),
        "cards_with_wrong_usage": wrong_cards,
        "cards_ran_out": len(ran_out), "ran_out_without_disconnect": len(ran_out - disconnected),
        "alert_checks_queued": alert_checks, "renewal_runs_queued": renewals,
        "ledger_violations": violations,
        "ledger_check_s": round(time.perf_counter() - t0, 1),
    }


def one(kind: str, records: int, cards: int, admin: str, batch: int,
        each_batch: bool) -> dict:
    """Measure one database in this process; return its figures."""
    data_dir = tempfile.mkdtemp(prefix="simdesk-bench-usage-")
    try:
        with ExitStack() as stack:
            bench_url = stack.enter_context(postgres_database(admin)) if kind == "pg" else None
            configure(data_dir, bench_url)
            from django.core.management import call_command
            from django.db import connection

            from simdesk.cards.models import Card
            from simdesk.core.clock import utcnow

            call_command("migrate", "--no-input", verbosity=0)
            rng = random.Random(7)
            now = utcnow()
            t0 = time.perf_counter()
            roles = setup_cards(cards, now, rng)
            card_ids = list(Card.objects.order_by("pk").values_list("pk", flat=True))
            distinct, batches, dup_count = make_records(records, card_ids, roles, now, rng, batch)
            sent = sum(len(b) for b in batches)
            print(f"[{kind}] setup: {cards} cards, {sent} records ({dup_count} duplicates) "
                  f"in {time.perf_counter() - t0:.0f}s", file=sys.stderr, flush=True)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM ANALYZE")
            rated_s, applied, duplicates, rejected = run_rated(batches, now,
                                                               each_batch=each_batch)
            print(f"[{kind}] rated {sent} in {rated_s:.1f}s: {sent / rated_s:.0f}/s",
                  file=sys.stderr, flush=True)
            base_s = run_baseline(batches)
            print(f"[{kind}] baseline {sent} in {base_s:.1f}s: {sent / base_s:.0f}/s",
                  file=sys.stderr, flush=True)
            durability = {}
            if connection.vendor == "sqlite":
                with connection.cursor() as cursor:
                    for pragma in ("journal_mode", "synchronous", "wal_autocheckpoint"):
                        durability[pragma] = cursor.execute(f"PRAGMA {pragma}").fetchone()[0]
            else:
                with connection.cursor() as cursor:
                    for setting in ("synchronous_commit", "fsync"):
                        cursor.execute(f"SHOW {setting}")
                        durability[setting] = cursor.fetchone()[0]
            figures = check(distinct, roles, applied, duplicates, dup_count)
            figures["durability"] = durability
            figures.update({"rejected": rejected, "rated_per_s": round(sent / rated_s),
                            "raw_per_s": round(sent / base_s),
                            "sent": sent, "roles": {k: len(v) for k, v in roles.items()}})
            connection.close()
            return figures
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--cards", type=int, default=20_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres",
                        help="admin URL of a PostgreSQL server (a bench database is created)")
    parser.add_argument("--batch", type=int, default=BATCH,
                        help="records per usage_rate call (default: 10,000, the API's limit)")
    parser.add_argument("--only", choices=["pg", "sqlite"], help="measure one database")
    parser.add_argument("--each-batch", action="store_true",
                        help="rate every batch on its own with usage_rate (one API client "
                             "sending batch after batch) instead of in full runs")
    parser.add_argument("--child", choices=["pg", "sqlite"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if args.child:
        print(json.dumps(one(args.child, args.records, args.cards, args.database_url,
                             args.batch, args.each_batch)))
        return
    results = {}
    for kind in ([args.only] if args.only else ["pg", "sqlite"]):
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, "--records", str(args.records),
             "--cards", str(args.cards), "--database-url", args.database_url,
             "--batch", str(args.batch), *(["--each-batch"] if args.each_batch else [])],
            stdout=subprocess.PIPE, text=True, check=True)
        results[kind] = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{kind}: {json.dumps(results[kind])}", flush=True)
    line = ["RESULT"]
    duplicates = violations = 0
    for kind, raw in (("pg", "copy_pg"), ("sqlite", "insert_sqlite")):
        if kind not in results:
            continue
        r = results[kind]
        line += [f"rated_{kind}_per_s={r['rated_per_s']}", f"{raw}_per_s={r['raw_per_s']}",
                 f"ratio_{kind}={r['rated_per_s'] / r['raw_per_s']:.2f}"]
        # Anything counted twice or lost: references with other than one row, cards whose
        # usage differs from their records, rated rows other than the distinct records.
        duplicates += (r["waiting_rows"] + r["cards_with_wrong_usage"]
                       + abs(r["rated_rows"] - r["distinct"]) + abs(r["applied"] - r["distinct"])
                       + abs(r["duplicates_reported"] - r["duplicates_sent"]) + r["rejected"])
        violations += r["ledger_violations"]
    line += [f"duplicates={duplicates}", f"ledger_violations={violations}"]
    print(" ".join(line))


if __name__ == "__main__":
    main()
