"""The in-process half of the scale tests: run as ``python -m tests.scale.scenario`` from
the project root, in its own process, against the database the environment names.

    [--shift-minutes M] setup --cards N [--groups G]   cards due for renewal, via services
    [--shift-minutes M] work                           enqueue the renewal sweeps, then
                                                       ``simdesk worker --batch``
    [--shift-minutes M] recover --upto-group I         report, the same as work, report
    report [--upto-group I]                            print the renewal report (JSON)

``--shift-minutes`` moves this process's clock (time-machine, ticking), so a test can
be "later" without waiting: e.g. past the lease a killed worker left on an attempt.
Group g's current period ends ``g`` days after the setup time plus 12 hours; with
renewal 24 h before the end, group g is due from ``g`` days − 12 h after setup.
"""

import argparse
import json
import os
import sys
from datetime import UTC, datetime, timedelta

GROUP_SPACING = timedelta(days=1)


def setup_django(shift_minutes: float) -> None:
    """Django set up for a scenario process, its clock moved ``shift_minutes`` ahead."""
    if shift_minutes:
        import time_machine

        time_machine.travel(datetime.now(UTC) + timedelta(minutes=shift_minutes),
                            tick=True).start()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    import django

    django.setup()


def setup(*, cards: int, groups: int) -> None:
    """``cards`` customers, each with one card on a 30-day queue plan, a saved sandbox
    Visa and auto-renewal on 24 h before the end; card i is in group i % groups."""
    from simdesk.accounts.models import User
    from simdesk.cards.iccid import iccid_with_check_digit
    from simdesk.cards.models import Card
    from simdesk.cards.services import period_create
    from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
    from simdesk.catalog.services import plan_upsert
    from simdesk.core.clock import utcnow
    from simdesk.payments.gateways.sandbox.models import SandboxPaymentMethod
    from simdesk.payments.models import SavedPaymentMethod
    from simdesk.renewals.services import renewal_settings_update

    now = utcnow()
    plan = plan_upsert(code="scale-5gb-30d",
                       terms={"kind": PlanKind.BASE, "data_bytes": 5 * 10**9,
                              "validity_days": 30, "validity_start": ValidityStart.ON_PURCHASE,
                              "stacking": Stacking.QUEUE, "region": None},
                       translations={"en": ("Scale 5 GB", "")}, prices={"USD": 1200},
                       countries=("FR",), now=now)
    for i in range(cards):
        group = i % groups
        user = User.objects.create_user(f"scale{i}@example.com")
        card = Card(iccid=iccid_with_check_digit(f"894470099{i:09d}"), owner=user,
                    label=f"scale-g{group}")
        card.save()
        started = now - timedelta(days=30) + timedelta(hours=12) + group * GROUP_SPACING
        period_create(card=card, plan=plan, source=f"scale:first:{i}", now=started)
        token = f"sbxpm_scale_{i}"
        SandboxPaymentMethod.objects.create(token=token, customer_ref=str(user.pk),
                                            test_card="4242424242424242", label="Visa 4242",
                                            created_at=now)
        method = SavedPaymentMethod.objects.create(customer=user, gateway="sandbox",
                                                   token=token, label="Visa 4242")
        card.refresh_from_db()
        renewal_settings_update(card=card, customer=user, enabled=True, plan=plan,
                                currency="USD", trigger_before_expiry_hours=24,
                                trigger_low_data_percent=None, payment_method=method, now=now)
    print(json.dumps({"cards": cards, "groups": groups}))


def enqueue_sweeps() -> None:
    from simdesk.renewals.tasks import renewal_retries_sweep, renewals_due_sweep

    renewals_due_sweep.enqueue()
    renewal_retries_sweep.enqueue()


def work() -> None:
    from django.core.management import call_command

    enqueue_sweeps()
    call_command("worker", batch=True)


def report(*, upto_group: int | None) -> dict:
    """Per card: periods, attempts, succeeded payments and sandbox charges; the
    duplicates (a reference charged twice) and the renewals lost or not yet done."""
    from collections import Counter

    from django.db.models import Count

    from simdesk.cards.models import Card, PeriodState
    from simdesk.payments.gateways.sandbox.models import SandboxCharge, SandboxChargeStatus
    from simdesk.payments.models import Payment, PaymentStatus
    from simdesk.renewals.models import RenewalAttempt

    paid = Counter(Payment.objects.filter(status=PaymentStatus.SUCCEEDED)
                   .values_list("reference", flat=True))
    charged = Counter(SandboxCharge.objects.filter(status=SandboxChargeStatus.SUCCEEDED)
                      .values_list("description", flat=True))
    attempts = Counter(RenewalAttempt.objects.values_list("status", flat=True))
    out = {"cards": 0, "renewed": 0, "untouched": 0, "wrong": [],
           "duplicate_payments": sum(n - 1 for n in paid.values() if n > 1),
           "duplicate_charges": sum(n - 1 for n in charged.values() if n > 1),
           "payments": sum(paid.values()), "charges": sum(charged.values()),
           "attempts": dict(attempts)}
    cards = (Card.objects.filter(label__startswith="scale-g")
             .annotate(n_periods=Count("periods", distinct=True)).order_by("pk"))
    for card in cards.iterator():
        out["cards"] += 1
        group = int(card.label.removeprefix("scale-g"))
        keys = list(RenewalAttempt.objects.filter(card=card, status="succeeded")
                    .values_list("idempotency_key", flat=True))
        queued = card.periods.filter(state=PeriodState.QUEUED).count()
        renewed = (card.n_periods == 2 and queued == 1 and len(keys) == 1
                   and paid[keys[0]] == 1 and charged[keys[0]] == 1)
        untouched = card.n_periods == 1 and not keys
        if renewed:
            out["renewed"] += 1
        elif untouched:
            out["untouched"] += 1
        if upto_group is not None and not (renewed if group <= upto_group else untouched):
            out["wrong"].append({"card": card.pk, "group": group, "periods": card.n_periods,
                                 "queued": queued, "succeeded_attempts": len(keys)})
    out["ready_tasks"] = _ready_tasks()
    return out


def _ready_tasks() -> int | None:
    from django.conf import settings

    if settings.TASK_BACKEND != "database":
        return None
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(status="READY").count()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="scenario")
    parser.add_argument("--shift-minutes", type=float, default=0)
    parser.add_argument("action", choices=["setup", "work", "recover", "report"])
    parser.add_argument("--cards", type=int, default=10)
    parser.add_argument("--groups", type=int, default=1)
    parser.add_argument("--upto-group", type=int, default=None)
    args = parser.parse_args(argv)
    setup_django(args.shift_minutes)
    if args.action == "setup":
        setup(cards=args.cards, groups=args.groups)
    elif args.action == "work":
        work()
    elif args.action == "recover":
        print("BEFORE " + json.dumps(report(upto_group=None)))
        work()
        print("REPORT " + json.dumps(report(upto_group=args.upto_group)))
    else:
        print("REPORT " + json.dumps(report(upto_group=args.upto_group)))


if __name__ == "__main__":
    main(sys.argv[1:])
