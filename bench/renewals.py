"""Renewal sweep: N due cards renewed through the real code, with flat memory, no card
charged twice.

Run from the project root:
    .venv/bin/python bench/renewals.py [--cards 100000] [--database-url postgres://…]

The database is the bench's own: a SQLite file (WAL) in a temporary directory by
default; with ``--database-url`` (an admin URL of a PostgreSQL server) a dedicated
database ``simdesk_bench_<random>`` is created and dropped at the end. Database task
backend, sandbox gateway, DEBUG off.

Setup (not timed as renewals): N customers, each with one card on a 30-day queue plan
ending in 12 hours, a saved sandbox Visa and auto-renewal on 24 h before the end —
written with bulk_create in the exact shape the services write (a period with its
purchase ledger row, the saved method on both sides of the sandbox), and checked with
the ledger check before the run.

Renewals (timed): the sweep's own path without the queue, in ``--workers`` processes
(default one per core), as ``simdesk worker`` processes would run side by side. Each
worker streams the sweep's selection ``cards_due_for_renewal`` (a page of cards at a
time) and takes its share of the due cards (card id modulo workers); each card goes
through ``renewal_run`` (the task's function: load the card, call ``renewal_attempt``),
which claims the attempt, opens the order, charges the saved method at the sandbox,
fulfils the order (a period queued behind the current one) and queues the customer's
e-mail (enqueued as a task row, not sent).

Baseline (same run, same cards): one bare ``period_create`` per card in one process (a
queued period and its ledger row, under the card lock) — the least a renewal must write —
over the first ``--baseline-cards`` cards (default 10,000: a rate, not a second sweep).

Memory: the selection alone is timed first (flat: it holds one page); each worker
prints its RSS every 10,000 renewals and its first and last reading; the peak is the
largest ru_maxrss of all processes. Duplicates: succeeded payments or sandbox charges
sharing one renewal key, and cards with more than one renewed period (must all be 0).

Ends with one line:
RESULT renewals_per_s=… peak_rss_mb=… duplicates=0 cards=… baseline_per_s=… workers=…
"""

import argparse
import gc
import os
import queue
import resource
import shutil
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import timedelta

from support import configure, postgres_database

BATCH = 2000
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup_cards(n: int, now):
    """N due cards in the state the services leave them, written in batches."""
    from django.contrib.auth.hashers import make_password

    from simdesk.accounts.models import User
    from simdesk.cards.iccid import iccid_with_check_digit
    from simdesk.cards.models import Card, CardState, LedgerEntry, LedgerKind, Period, PeriodState
    from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
    from simdesk.catalog.services import plan_upsert
    from simdesk.payments.gateways.sandbox.models import SandboxPaymentMethod
    from simdesk.payments.models import SavedPaymentMethod
    from simdesk.renewals.models import RenewalSettings

    unusable = make_password(None)  # customers who sign in otherwise (as create_user(…, None))
    plan = plan_upsert(code="bench-5gb-30d",
                       terms={"kind": PlanKind.BASE, "data_bytes": 5 * 10**9,
                              "validity_days": 30, "validity_start": ValidityStart.ON_PURCHASE,
                              "stacking": Stacking.QUEUE, "region": None},
                       translations={"en": ("Bench 5 GB", "")}, prices={"USD": 1200},
                       countries=("FR",), now=now)
    started = now - timedelta(days=30) + timedelta(hours=12)
    names = {"en": "Bench 5 GB"}
    for lo in range(0, n, BATCH):
        hi = min(n, lo + BATCH)
        users = User.objects.bulk_create(
            User(email=f"bench{i}@example.com", password=unusable) for i in range(lo, hi))
        cards = Card.objects.bulk_create(
            Card(iccid=iccid_with_check_digit(f"894470088{i:09d}"), owner=user,
                 state=CardState.ACTIVE, state_changed_at=started)
            for i, user in zip(range(lo, hi), users, strict=True))
        periods = Period.objects.bulk_create(
            Period(card=card, plan=plan, plan_code=plan.code, names=names, kind=plan.kind,
                   total_bytes=plan.data_bytes, remaining_bytes=plan.data_bytes,
                   validity_days=30, validity_start=plan.validity_start, stacking=plan.stacking,
                   state=PeriodState.ACTIVE, activated_at=started, starts_at=started,
                   ends_at=started + timedelta(days=30), source=f"bench:first:{card.iccid}")
            for card in cards)
        LedgerEntry.objects.bulk_create(
            LedgerEntry(card=card, period=period, kind=LedgerKind.CREDIT_PURCHASE,
                        bytes=plan.data_bytes, balance_after=plan.data_bytes,
                        reference=f"purchase:{period.source}", seq=0, at=started,
                        created_at=started)
            for card, period in zip(cards, periods, strict=True))
        SandboxPaymentMethod.objects.bulk_create(
            SandboxPaymentMethod(token=f"sbxpm_bench_{user.pk}", customer_ref=str(user.pk),
                                 test_card="4242424242424242", label="Visa 4242",
                                 created_at=now) for user in users)
        methods = SavedPaymentMethod.objects.bulk_create(
            SavedPaymentMethod(customer=user, gateway="sandbox", token=f"sbxpm_bench_{user.pk}",
                               label="Visa 4242") for user in users)
        RenewalSettings.objects.bulk_create(
            RenewalSettings(card=card, enabled=True, plan=plan, currency="USD",
                            trigger_before_expiry_hours=24, payment_method=method,
                            changed_at=now)
            for card, method in zip(cards, methods, strict=True))
    return plan


def duplicates() -> int:
    from django.db.models import Count

    from simdesk.cards.models import Period, PeriodState
    from simdesk.payments.gateways.sandbox.models import SandboxCharge, SandboxChargeStatus
    from simdesk.payments.models import Payment, PaymentStatus

    def extra(qs, field):
        return sum(row["n"] - 1 for row in qs.values(field).annotate(n=Count("pk"))
                   .filter(n__gt=1))

    return (extra(Payment.objects.filter(status=PaymentStatus.SUCCEEDED), "reference")
            + extra(SandboxCharge.objects.filter(status=SandboxChargeStatus.SUCCEEDED),
                    "description")
            + extra(Period.objects.filter(state=PeriodState.QUEUED,
                                          source__startswith="order:"), "card_id"))


def ledger_violations() -> int:
    from simdesk.cards.ledger_check import ledger_violations as violations

    return sum(1 for _ in violations())


def worker(index: int, workers: int, report) -> None:
    """One renewal worker (a forked process): the sweep's selection, streamed a page at a
    time, and ``renewal_run`` for its share of the due cards (card id modulo workers)."""
    from django.db import connection, reset_queries

    from simdesk.core.clock import utcnow
    from simdesk.renewals.selectors import cards_due_for_renewal
    from simdesk.renewals.tasks import renewal_run

    connection.close()  # never share the parent's connection
    done, t0, rss = 0, time.perf_counter(), []
    for due in cards_due_for_renewal(now=utcnow()):
        if due.card_id % workers != index:
            continue
        renewal_run.call(card_id=due.card_id)
        done += 1
        if done % 2000 == 0:
            reset_queries()
            rss.append(rss_mb())
            if done % 10000 == 0:
                print(f"  worker {index}: {done} renewed, "
                      f"{done / (time.perf_counter() - t0):.0f}/s, rss {rss[-1]:.0f} MB",
                      flush=True)
    rss.append(rss_mb())
    connection.close()
    report.put((index, done, time.perf_counter() - t0, rss, peak_rss_mb()))


def bench(n: int, workers: int, baseline_cards: int) -> dict:
    import multiprocessing

    from django.db import connection

    from simdesk.cards.models import Card
    from simdesk.cards.services import period_create
    from simdesk.core.clock import utcnow
    from simdesk.payments.gateways.sandbox.models import SandboxCharge, SandboxChargeStatus
    from simdesk.renewals.models import AttemptStatus, RenewalAttempt
    from simdesk.renewals.selectors import cards_due_for_renewal

    now = utcnow()
    t0 = time.perf_counter()
    plan = setup_cards(n, now)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # planner statistics, as autovacuum keeps them in use
    print(f"setup: {n} due cards in {time.perf_counter() - t0:.1f}s; "
          f"ledger violations before: {ledger_violations()}", flush=True)

    gc.collect()
    print(f"rss before the sweep: {rss_mb():.0f} MB", flush=True)
    t0 = time.perf_counter()
    # The sweep's selection, as renewals_due_sweep reads it: a page of cards at a time.
    due_count = sum(1 for _ in cards_due_for_renewal(now=utcnow()))
    select_s = time.perf_counter() - t0
    print(f"selection: {due_count} due cards in {select_s:.1f}s; "
          f"rss {rss_mb():.0f} MB, peak so far {peak_rss_mb():.0f} MB", flush=True)

    # The renewals: `workers` processes, as `simdesk worker` would run them side by side.
    connection.close()
    context = multiprocessing.get_context("fork")
    report = context.Queue()
    t0 = time.perf_counter()
    procs = [context.Process(target=worker, args=(i, workers, report)) for i in range(workers)]
    for proc in procs:
        proc.start()
    results = []
    while len(results) < workers:
        try:
            results.append(report.get(timeout=5))
        except queue.Empty:
            dead = [proc.exitcode for proc in procs if proc.exitcode not in (None, 0)]
            if dead:
                sys.exit(f"a renewal worker died (exit codes {dead}); see above")
    results.sort()
    for proc in procs:
        proc.join()
    renew_s = time.perf_counter() - t0
    renewed_by_workers = sum(done for _i, done, _s, _rss, _peak in results)
    worker_rss = [rss for *_rest, rss, _peak in results]
    for index, done, seconds, rss, peak in results:
        print(f"worker {index}: {done} renewals in {seconds:.0f}s ({done / seconds:.0f}/s); "
              f"rss first/last {rss[0]:.0f}/{rss[-1]:.0f} MB, peak {peak:.0f} MB", flush=True)

    succeeded = RenewalAttempt.objects.filter(status=AttemptStatus.SUCCEEDED).count()
    charges = SandboxCharge.objects.filter(status=SandboxChargeStatus.SUCCEEDED).count()
    dupes = duplicates()
    violations = ledger_violations()
    print(f"renewals: {succeeded} succeeded, {charges} sandbox charges, {dupes} duplicates, "
          f"{violations} ledger violations", flush=True)

    # Baseline: one bare period_create per card, the same cards, no payment or order,
    # in one process (the least a renewal must write, without the parallelism).
    t0 = time.perf_counter()
    last, based = 0, 0
    while based < baseline_cards and (page := list(
            Card.objects.filter(pk__gt=last).order_by("pk")[:min(BATCH, baseline_cards - based)])):
        last, based = page[-1].pk, based + len(page)
        for card in page:
            period_create(card=card, plan=plan, source=f"bench:baseline:{card.pk}", now=now)
    base_s = time.perf_counter() - t0
    return {"renewals_per_s": round(renewed_by_workers / renew_s) if renew_s else 0,
            "peak_rss_mb": round(max([peak_rss_mb()] + [r[4] for r in results])),
            "duplicates": dupes, "cards": n, "workers": workers,
            "baseline_per_s": round(based / base_s) if based else 0,
            "renewed": succeeded, "select_s": round(select_s, 1),
            "worker_rss_first_last_mb": ",".join(f"{r[0]:.0f}/{r[-1]:.0f}" for r in worker_rss),
            "ledger_violations": violations}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="renewal worker processes (default: one per core)")
    parser.add_argument("--baseline-cards", type=int, default=10_000,
                        help="cards the baseline writes a bare period for (default 10,000)")
    parser.add_argument("--database-url", default="",
                        help="admin URL of a PostgreSQL server (a bench database is created)")
    args = parser.parse_args()
    # Stopped early (SIGTERM), it still drops its database and temporary directory.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    data_dir = tempfile.mkdtemp(prefix="simdesk-bench-renewals-")
    try:
        with ExitStack() as stack:
            bench_url = (stack.enter_context(postgres_database(args.database_url))
                         if args.database_url else None)
            # The sandbox's webhooks stay queued rows: the renewal itself is synchronous.
            configure(data_dir, bench_url, SANDBOX_WEBHOOK_DELIVER_AT_ONCE="false")
            from django.core.management import call_command
            from django.db import connection

            call_command("migrate", "--no-input", verbosity=0)
            print(f"database: {connection.vendor}; cards: {args.cards}", flush=True)
            result = bench(args.cards, args.workers, args.baseline_cards)
            connection.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    extra = " ".join(f"{k}={v}" for k, v in result.items()
                     if k not in ("renewals_per_s", "peak_rss_mb", "duplicates", "cards",
                                  "baseline_per_s"))
    print(f"RESULT renewals_per_s={result['renewals_per_s']} "
          f"peak_rss_mb={result['peak_rss_mb']} duplicates={result['duplicates']} "
          f"cards={result['cards']} baseline_per_s={result['baseline_per_s']} {extra}")


if __name__ == "__main__":
    main()
