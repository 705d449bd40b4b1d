"""The in-process half of the fault trials: run as ``python -m tests.faults.scenario``
from the project root, against the database the environment names.

    setup --trials T --orders C --usage U --renewals R   customers, cards, keys (JSON out)
    arm --trial I          switch on auto-renewal of trial I's cards, due at once, and
                           enqueue the renewal sweep
    sweeps                 enqueue the sweeps that finish interrupted work (what the
                           clock does every minute or so)
    [--shift-minutes M] recover   the sweeps, then ``simdesk worker --batch`` (M minutes
                           later: past the lease a killed worker holds on a renewal)
    check --expected FILE [--upto-trial I] [--wait S]
                           compare the database with what the load was answered
                           (JSON), polling up to S seconds; prints ``REPORT {…}``

Trial ``i`` owns the customers ``fault{i}-o{k}`` (orders), the cards ``fault-u{i}-{k}``
(usage) and ``fault-r{i}-{k}`` (renewals).
"""

import argparse
import json
import sys
import time
from collections import Counter
from datetime import timedelta

from tests.scale.scenario import setup_django

NAS_SECRET = "simdesk-fault-nas-secret"
PLAN = "fault-5gb-30d"
BIG_PLAN = "fault-1tb-30d"
API_SOURCE = "faults"  # the usage source the API clients name
SWEEPS = ("simdesk.payments.tasks.sandbox_webhook_deliveries_sweep",
          "simdesk.payments.tasks.webhook_events_retry_sweep",
          "simdesk.payments.tasks.payments_reconcile_sweep",
          "simdesk.orders.tasks.orders_fulfil_sweep",
          "simdesk.renewals.tasks.renewals_due_sweep",
          "simdesk.renewals.tasks.renewal_retries_sweep",
          "simdesk.usage.tasks.usage_rate_pending_sweep")


def _iccid(kind: int, trial: int, k: int) -> str:
    from simdesk.cards.iccid import iccid_with_check_digit

    return iccid_with_check_digit(f"8944701{kind}{trial:05d}{k:05d}")


def setup(*, trials: int, orders: int, usage: int, renewals: int) -> dict:
    from simdesk.accounts.models import User
    from simdesk.accounts.tokens import token_create
    from simdesk.api.keys import operator_key_create
    from simdesk.api.models import OperatorScope
    from simdesk.cards.models import Card
    from simdesk.cards.services import period_create
    from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
    from simdesk.catalog.services import plan_upsert
    from simdesk.core.clock import utcnow
    from simdesk.payments.gateways.sandbox.models import SandboxPaymentMethod
    from simdesk.payments.models import SavedPaymentMethod
    from simdesk.radius.models import NasClient

    now = utcnow()

    def plan(code, data_bytes):
        return plan_upsert(code=code, terms={
            "kind": PlanKind.BASE, "data_bytes": data_bytes, "validity_days": 30,
            "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
            "region": None}, translations={"en": (code, "")}, prices={"USD": 1200},
            countries=("FR",), now=now)

    small, big = plan(PLAN, 5 * 10**9), plan(BIG_PLAN, 10**12)
    NasClient.objects.get_or_create(name="fault-nas", defaults={"address": "127.0.0.1",
                                                                  "secret": NAS_SECRET})
    staff = User.objects.create_user("fault-staff@example.com", is_staff=True)
    _key, operator = operator_key_create(name="fault usage", scopes=[OperatorScope.USAGE_WRITE],
                                         created_by=staff, now=now)
    out = {"operator_key": operator, "trials": []}
    for t in range(trials):
        trial = {"orders": [], "usage": []}
        for k in range(orders):
            user = User.objects.create_user(f"fault{t}-o{k}@example.com")
            card = Card.objects.create(iccid=_iccid(1, t, k), owner=user, label=f"fault-o{t}")
            _token, plaintext = token_create(user=user, name="fault load", now=now)
            trial["orders"].append({"token": plaintext, "card": str(card.public_id)})
        for k in range(usage):
            user = User.objects.create_user(f"fault{t}-u{k}@example.com")
            imsi = f"00101{t:05d}{k:05d}"
            card = Card.objects.create(iccid=_iccid(2, t, k), owner=user, imsi=imsi,
                                       label=f"fault-u{t}")
            period_create(card=card, plan=big, source=f"fault:usage:{t}:{k}",
                          now=now - timedelta(days=1))
            trial["usage"].append({"imsi": imsi, "iccid": card.iccid})
        for k in range(renewals):
            user = User.objects.create_user(f"fault{t}-r{k}@example.com")
            card = Card.objects.create(iccid=_iccid(3, t, k), owner=user, label=f"fault-r{t}")
            # Ends in 12 hours: due as soon as auto-renewal (24 h before the end) is on.
            period_create(card=card, plan=small, source=f"fault:first:{t}:{k}",
                          now=now - timedelta(days=30) + timedelta(hours=12))
            token = f"sbxpm_fault_{t}_{k}"
            SandboxPaymentMethod.objects.create(token=token, customer_ref=str(user.pk),
                                                test_card="4242424242424242",
                                                label="Visa 4242", created_at=now)
            SavedPaymentMethod.objects.create(customer=user, gateway="sandbox", token=token,
                                              label="Visa 4242")
        out["trials"].append(trial)
    return out


def arm(*, trial: int) -> None:
    from simdesk.cards.models import Card
    from simdesk.catalog.models import Plan
    from simdesk.core.clock import utcnow
    from simdesk.payments.models import SavedPaymentMethod
    from simdesk.renewals.services import renewal_settings_update
    from simdesk.renewals.tasks import renewals_due_sweep

    plan = Plan.objects.get(code=PLAN)
    for card in Card.objects.filter(label=f"fault-r{trial}").select_related("owner"):
        method = SavedPaymentMethod.objects.get(customer=card.owner)
        renewal_settings_update(card=card, customer=card.owner, enabled=True, plan=plan,
                                currency="USD", trigger_before_expiry_hours=24,
                                trigger_low_data_percent=None, payment_method=method,
                                now=utcnow())
    renewals_due_sweep.enqueue()


def sweeps() -> None:
    from django.utils.module_loading import import_string

    for path in SWEEPS:
        import_string(path).enqueue()


def recover() -> None:
    from django.core.management import call_command

    sweeps()
    call_command("worker", batch=True)


def check(*, expected: dict, upto_trial: int | None, from_trial: int = 0) -> dict:
    """What the database holds against what the load was answered.

    ``lost``: a paid order without its period, a renewal not done, rated usage missing
    from its card's balance; ``duplicates``: a reference paid or charged twice, an order
    or renewal with two periods, usage kept or debited more than sent; ``pending``: work
    not settled yet (usage answered but not kept, or kept but not rated)."""
    from simdesk.cards.models import Card, Period
    from simdesk.orders.models import Order
    from simdesk.payments.gateways.sandbox.models import SandboxCharge, SandboxChargeStatus
    from simdesk.payments.models import Payment, PaymentStatus
    from simdesk.renewals.models import RenewalAttempt
    from simdesk.usage.models import RatingCursor

    trials = range(from_trial,
                   len(expected["trials"]) if upto_trial is None else upto_trial + 1)
    paid = Counter(Payment.objects.filter(status=PaymentStatus.SUCCEEDED)
                   .values_list("reference", flat=True))
    charged = Counter(SandboxCharge.objects.filter(status=SandboxChargeStatus.SUCCEEDED)
                      .values_list("description", flat=True))
    out = {"lost": [], "duplicates": [], "pending": [], "orders_fulfilled": 0,
           "renewed": 0, "usage_bytes": 0}
    through = RatingCursor.objects.get(pk=1).through
    out["duplicates"] += [f"paid twice {r}" for r, n in paid.items() if n > 1]
    out["duplicates"] += [f"charged twice {r}" for r, n in charged.items() if n > 1]
    out["lost"] += [f"charged without a payment {r}" for r in charged if r not in paid]
    for t in trials:
        for order in Order.objects.filter(customer__email__startswith=f"fault{t}-o"):
            periods = Period.objects.filter(source=order.reference).count()
            if periods > 1:
                out["duplicates"].append(f"order {order.reference}: {periods} periods")
            if charged[order.reference] or paid[order.reference]:
                if periods == 1 and order.status == "fulfilled":
                    out["orders_fulfilled"] += 1
                else:
                    out["pending"].append(f"order {order.reference} {order.status}")
            elif order.status not in ("pending_payment", "payment_failed", "expired"):
                out["lost"].append(f"order {order.reference} {order.status} not charged")
        for public_id in expected["trials"][t].get("paid_orders", []):
            order = Order.objects.get(public_id=public_id)
            if not (charged[order.reference] and paid[order.reference]):
                out["pending"].append(f"order {order.reference} paid at the sandbox's page "
                                      f"but {order.status}")
        for card in Card.objects.filter(label=f"fault-r{t}"):
            done = list(RenewalAttempt.objects.filter(card=card, status="succeeded")
                        .values_list("idempotency_key", flat=True))
            n_periods = card.periods.count()
            if len(done) > 1 or n_periods > 2:
                out["duplicates"].append(f"card {card.iccid} renewed {len(done)} times, "
                                         f"{n_periods} periods")
            elif len(done) == 1 and n_periods == 2 and charged[done[0]] == 1:
                out["renewed"] += 1
            else:
                statuses = list(RenewalAttempt.objects.filter(card=card)
                                .values_list("status", flat=True))
                out["pending"].append(f"renewal of {card.iccid} {statuses}")
        for sent in expected["trials"][t]["usage"]:
            _check_usage(sent, through, out)
    return out


def _check_usage(sent: dict, through: int, out: dict) -> None:
    """One usage card: the records kept for it against what its clients were answered
    for (bytes over the API and RADIUS, records over the API), the records rated (up
    to the rating cursor) against what was kept, and its balance against them."""
    from django.db.models import Count, Q, Sum

    from simdesk.cards.models import Card
    from simdesk.usage.models import Record, Source

    card = Card.objects.get(iccid=sent["iccid"])
    api = Source.objects.filter(name=API_SOURCE).values_list("pk", flat=True).first()
    kept = Record.objects.filter(card=card).aggregate(
        kept=Sum("bytes", default=0), api=Count("id", filter=Q(source_id=api)),
        rated=Sum("bytes", filter=Q(pk__lte=through), default=0),
        waiting=Count("id", filter=Q(pk__gt=through)))
    debited = sum(card.periods.values_list("used_bytes", flat=True)) + card.overage_bytes
    want, want_api = sent.get("bytes", 0), sent.get("api_records", 0)
    out["usage_bytes"] += kept["rated"]
    label = f"usage of {card.iccid}"
    if kept["kept"] > want or kept["api"] > want_api:
        out["duplicates"].append(f"{label}: {kept['kept']} bytes kept, {want} sent, "
                                 f"{kept['api']} API records kept, {want_api} sent")
    elif kept["kept"] < want or kept["api"] < want_api:
        out["pending"].append(f"{label}: {kept['kept']} bytes kept, {want} sent")
    elif kept["waiting"]:
        out["pending"].append(f"{label}: {kept['waiting']} records kept but not rated")
    if debited > kept["rated"]:
        out["duplicates"].append(f"{label}: {debited} bytes debited, {kept['rated']} rated")
    elif debited < kept["rated"]:
        out["lost"].append(f"{label}: {debited} bytes debited, {kept['rated']} rated")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="scenario")
    parser.add_argument("--shift-minutes", type=float, default=0)
    parser.add_argument("action", choices=["setup", "arm", "sweeps", "recover", "check"])
    parser.add_argument("--trials", type=int, default=1)
    parser.add_argument("--orders", type=int, default=3)
    parser.add_argument("--usage", type=int, default=2)
    parser.add_argument("--renewals", type=int, default=2)
    parser.add_argument("--trial", type=int, default=0)
    parser.add_argument("--expected", default="")
    parser.add_argument("--upto-trial", type=int, default=None)
    parser.add_argument("--from-trial", type=int, default=0)
    parser.add_argument("--wait", type=float, default=0)
    parser.add_argument("--sweeps-every", type=float, default=0,
                        help="while waiting, enqueue the sweeps this often (seconds)")
    args = parser.parse_args(argv)
    setup_django(args.shift_minutes)
    if args.action == "setup":
        print("SETUP " + json.dumps(setup(trials=args.trials, orders=args.orders,
                                          usage=args.usage, renewals=args.renewals)))
    elif args.action == "arm":
        arm(trial=args.trial)
    elif args.action == "sweeps":
        sweeps()
    elif args.action == "recover":
        recover()
    else:
        with open(args.expected) as f:
            expected = json.load(f)
        from django.db import close_old_connections

        from simdesk.cards.ledger_check import ledger_violations
        from simdesk.usage.ledger_check import usage_violations

        deadline = time.monotonic() + args.wait
        swept = 0.0
        while True:
            close_old_connections()
            if args.sweeps_every and time.monotonic() - swept > args.sweeps_every:
                sweeps()
                swept = time.monotonic()
            report = check(expected=expected, upto_trial=args.upto_trial,
                           from_trial=args.from_trial)
            if not report["pending"] or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        report["ledger_violations"] = [str(v) for v in (*ledger_violations(),
                                                        *usage_violations())]
        print("REPORT " + json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
