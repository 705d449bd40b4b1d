"""The in-process half of the one-card race: run as ``python -m tests.concurrency.race`` from
the project root, in its own process (its own database connection), against the database
the environment names.

    setup                          alice, her pausable card with a first period, a saved
                                   sandbox Visa and auto-renewal that is always due
    hammer --seed S --seconds T    random operations on that one card until T seconds
                                   have passed: usage batches (``usage_rate``), renewal
                                   attempts, refund requests (and staff approving them),
                                   pause / resume, the period sweep, and alice buying a
                                   plan on the sandbox's pay page when nothing is queued
                                   (its signed webhook fulfils the order in-process);
                                   prints one REPORT line
    report                         what the database holds, for the test to judge (JSON)

Every operation goes through the public services with the time of the moment, as the
web, worker and RADIUS processes call them. Business refusals (``ServiceError``: "already
paused", "nothing to refund" …) are expected in a race and counted; anything else (a
deadlock, an integrity error, any other exception) is a failure and is printed.
"""

import argparse
import json
import os
import random
import sys
import time
import traceback
from datetime import timedelta

SOURCE = "race"
POOL = 1500  # record ids the usage batches draw from; processes overlap on purpose
MB = 10**6
PLAN_BYTES = 1000 * MB
PLAN_DAYS = 10
PRICE = 500  # USD minor units
ICCID_BODY = "894470099123456789"


def record_bytes(number: int) -> int:
    """What record ``u<number>`` carries, the same whoever sends it (1–10 MB, some 0)."""
    return 0 if number % 97 == 0 else (number * 7919 % 10 + 1) * MB


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    import django

    django.setup()


def setup() -> None:
    from allauth.account.models import EmailAddress

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
    plan = plan_upsert(code="race-1gb", terms={
        "kind": PlanKind.BASE, "data_bytes": PLAN_BYTES, "validity_days": PLAN_DAYS,
        "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
        "region": None, "pausable": True, "max_pause_days": 30},
        translations={"en": ("Race 1 GB", "")}, prices={"USD": PRICE}, countries=("FR",),
        now=now)
    alice = User.objects.create_user("alice@example.com", password="correct horse battery")
    EmailAddress.objects.create(user=alice, email=alice.email, verified=True, primary=True)
    User.objects.create_user("agent@example.com", password="correct horse battery",
                             is_staff=True)
    card = Card.objects.create(iccid=iccid_with_check_digit(ICCID_BODY), owner=alice,
                               label="race")
    period_create(card=card, plan=plan, source="race:first", now=now)
    token = "sbxpm_race_alice"
    SandboxPaymentMethod.objects.create(token=token, customer_ref=str(alice.pk),
                                        test_card="4242424242424242", label="Visa 4242",
                                        created_at=now)
    method = SavedPaymentMethod.objects.create(customer=alice, gateway="sandbox", token=token,
                                               label="Visa 4242")
    card.refresh_from_db()
    # Renew 14 days before a 10-day period ends: due whenever nothing is queued.
    renewal_settings_update(card=card, customer=alice, enabled=True, plan=plan, currency="USD",
                            trigger_before_expiry_hours=336, trigger_low_data_percent=None,
                            payment_method=method, now=now)
    print(json.dumps({"card": card.pk}))


class Hammer:
    def __init__(self, seed: int):
        from simdesk.accounts.models import User
        from simdesk.cards.models import Card

        self.rng = random.Random(seed)
        self.card = Card.objects.get(label="race")
        self.alice = User.objects.get(email="alice@example.com")
        self.staff = User.objects.get(email="agent@example.com")
        self.counts: dict[str, int] = {}
        self.sent: set[int] = set()
        self.applied = 0
        self.failures: list[str] = []

    def count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def usage(self, now) -> str:
        from simdesk.usage.services import UsageRecord, usage_rate

        numbers = self.rng.sample(range(POOL), self.rng.randint(1, 12))
        records = []
        for n in numbers:
            nbytes = record_bytes(n)
            # The time a record counts at is its own, whoever sends it (as a network
            # resending a record would): a few seconds before now.
            ended = now - timedelta(milliseconds=self.rng.randint(0, 3000))
            records.append(UsageRecord(record_id=f"u{n}", card_id=self.card.pk,
                                       bytes_up=nbytes // 3, bytes_down=nbytes - nbytes // 3,
                                       started_at=ended - timedelta(minutes=1), ended_at=ended))
        result = usage_rate(records, source=SOURCE, now=now)
        assert not result.rejected, result.rejected
        assert result.applied + result.duplicates == len(records), result
        self.sent.update(numbers)
        self.applied += result.applied
        return "usage"

    def renew(self, now) -> str:
        from simdesk.renewals.services import renewal_attempt

        attempt = renewal_attempt(card=self.card, now=now)
        return f"renew:{attempt.status if attempt else 'none'}"

    def refund(self, now) -> str:
        from simdesk.cards.models import PeriodState
        from simdesk.orders.models import RefundRequest, RefundRequestStatus
        from simdesk.orders.services import refund_request_approve, refund_request_create

        pending = list(RefundRequest.objects.filter(
            period__card=self.card, status=RefundRequestStatus.PENDING))
        if pending and self.rng.random() < 0.6:
            rr = self.rng.choice(pending)
            # Staff approve the suggested amount (or a little less) while it races on.
            amount = max(1, rr.suggested_minor - self.rng.randint(0, 50))
            refund_request_approve(request=rr, amount_minor=amount, acting_user=self.staff,
                                   now=now)
            return "refund:approve"
        periods = list(self.card.periods.filter(
            state__in=(PeriodState.ACTIVE, PeriodState.QUEUED, PeriodState.EXHAUSTED),
            order__isnull=False))
        if not periods:
            return "refund:none"
        rr = refund_request_create(customer=self.alice, period=self.rng.choice(periods),
                                   reason="race", now=now)
        return f"refund:{rr.status}"

    def pause(self, now) -> str:
        from simdesk.cards.services import card_pause, card_unpause

        self.card.refresh_from_db(fields=["paused_at"])
        if self.card.paused_at is None:
            card_pause(card=self.card, acting_user=self.alice, now=now)
            return "pause"
        card_unpause(card=self.card, acting_user=self.alice, now=now)
        return "unpause"

    def buy(self, now) -> str:
        from simdesk.cards.models import PeriodState
        from simdesk.catalog.models import Plan
        from simdesk.orders.services import order_create, order_pay
        from simdesk.payments.gateways.sandbox.cards import test_card_find
        from simdesk.payments.gateways.sandbox.models import SandboxCharge
        from simdesk.payments.gateways.sandbox.services import sandbox_charge_pay

        if self.card.periods.filter(state=PeriodState.QUEUED).exists():
            return "buy:none"
        order = order_create(customer=self.alice, card=self.card,
                             plan=Plan.objects.get(code="race-1gb"), currency="USD",
                             idempotency_key=f"race-buy-{self.rng.getrandbits(64):x}", now=now)
        url = order_pay(order=order, gateway="sandbox", return_url="http://127.0.0.1:9/",
                        now=now)
        charge = SandboxCharge.objects.get(public_id=url.rstrip("/").split("/")[-1])
        sandbox_charge_pay(charge=charge, card=test_card_find("4242424242424242"), now=now)
        order.refresh_from_db()
        return f"buy:{order.status}"

    def advance(self, now) -> str:
        from simdesk.cards.services import periods_advance

        periods_advance(card=self.card, now=now)
        return "advance"

    def run(self, seconds: float) -> dict:
        from django.db import close_old_connections

        from simdesk.core.clock import utcnow
        from simdesk.core.errors import ServiceError

        ops = [self.usage] * 6 + [self.renew] * 2 + [self.refund] * 2 + [self.pause] * 3 \
            + [self.advance, self.buy]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            op = self.rng.choice(ops)
            try:
                self.count(op(utcnow()))
            except ServiceError as error:
                self.count(f"{op.__name__}:refused:{error.code or 'refused'}")
            except Exception:  # noqa: BLE001 — every other error is a finding
                self.failures.append(f"{op.__name__}: {traceback.format_exc()}")
                close_old_connections()
            time.sleep(self.rng.random() * 0.01)
        return {"counts": self.counts, "sent": sorted(self.sent), "applied": self.applied,
                "failures": self.failures}


def report() -> dict:
    """What the card's history says, for the test's checks."""
    from collections import Counter, defaultdict

    from django.db.models import Sum

    from simdesk.cards.ledger_check import ledger_violations
    from simdesk.cards.models import Card, CardEvent, CardState, LedgerKind
    from simdesk.orders.models import Order, RefundRequest, RefundRequestStatus
    from simdesk.payments.gateways.sandbox.models import SandboxCharge, SandboxChargeStatus
    from simdesk.payments.models import Payment, PaymentStatus, Refund
    from simdesk.renewals.models import AttemptStatus, RenewalAttempt
    from simdesk.usage.ledger_check import usage_violations
    from simdesk.usage.models import RatingCursor, Record

    card = Card.objects.get(label="race")
    # Each record is kept once (its row is its claim); it has been applied to the card
    # when its id is up to the rating cursor.
    through = RatingCursor.objects.get(pk=1).through
    kept = Record.objects.filter(source__name=SOURCE, card=card)
    rated = dict(kept.filter(pk__lte=through).values_list("record_id", "bytes"))
    wrong_usage = {record_id: amount for record_id, amount in rated.items()
                   if amount != record_bytes(int(record_id.removeprefix("u")))}
    # What the card was debited, all periods and overage, against the records rated.
    debited = sum(card.periods.values_list("used_bytes", flat=True)) + card.overage_bytes

    # A period refunded must take no usage after its refund row, and a period refunded in
    # full without review must have had no usage at all.
    late_debits = []
    for period in card.periods.filter(state="refunded"):
        refund_row = period.ledger.filter(kind=LedgerKind.REFUND).order_by("id").first()
        if refund_row is None:
            late_debits.append(f"{period.public_id}: refunded without a refund row")
            continue
        late = period.ledger.filter(kind=LedgerKind.DEBIT_USAGE, id__gt=refund_row.id).count()
        if late:
            late_debits.append(f"{period.public_id}: {late} usage rows after its refund")
    full_but_used = [str(rr.period.public_id) for rr in RefundRequest.objects.filter(
        automatic=True, status=RefundRequestStatus.REFUNDED).select_related("period")
        if rr.period.used_bytes]
    refunds = list(Refund.objects.values_list("payment_id", "amount_minor", "idempotency_key"))
    over_refunded = [p.public_id.hex if hasattr(p.public_id, "hex") else str(p.public_id)
                     for p in Payment.objects.annotate(refunded=Sum("refunds__amount_minor"))
                     if (p.refunded or 0) > p.amount_minor or (p.refunded or 0) != p.refunded_minor]
    requests = Counter(RefundRequest.objects.values_list("status", flat=True))

    # Pause: each pause interval from the card's state events; what the periods were
    # charged must add up to them, and the card's fields must agree with its state.
    intervals, started = [], None
    for event in CardEvent.objects.filter(card=card, kind=CardEvent.Kind.STATE).order_by("id"):
        if event.to_state == CardState.PAUSED:
            started = event.at
        elif event.from_state == CardState.PAUSED and started is not None:
            intervals.append((started, event.at))
            started = None
    charged = sum(card.periods.values_list("paused_seconds", flat=True))
    # Every move of a period's end by a pause, from its events, per period.
    moved = defaultdict(float)
    for period_id, note in CardEvent.objects.filter(
            card=card, kind=CardEvent.Kind.PERIOD, note__startswith="pause: end moved by "
    ).values_list("period_id", "note"):
        moved[period_id] += float(note.split()[4])
    validity_off = []
    for period in card.periods.exclude(starts_at=None).exclude(ends_at=None):
        expected = timedelta(days=PLAN_DAYS) + timedelta(seconds=moved[period.pk])
        if abs((period.ends_at - period.starts_at) - expected) > timedelta(milliseconds=1):
            validity_off.append(f"{period.public_id}: lasts {period.ends_at - period.starts_at}"
                                f", {expected} expected")
    paused_total = sum((end - start).total_seconds() for start, end in intervals)

    attempts = Counter(RenewalAttempt.objects.values_list("status", flat=True))
    succeeded_keys = list(RenewalAttempt.objects.filter(status=AttemptStatus.SUCCEEDED)
                          .values_list("idempotency_key", flat=True))
    paid = Counter(Payment.objects.filter(status__in=(
        PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED))
        .values_list("reference", flat=True))
    charges = Counter(SandboxCharge.objects.filter(status=SandboxChargeStatus.SUCCEEDED)
                      .values_list("description", flat=True))
    orders_without_one_period = [
        o.public_id for o in Order.objects.filter(paid_at__isnull=False)
        if o.period_id is None]
    return {
        "violations": [str(v) for v in (*ledger_violations(), *usage_violations())],
        "records_applied": sorted(int(r.removeprefix("u")) for r in rated),
        "wrong_usage": wrong_usage,
        "records_waiting": kept.filter(pk__gt=through).count(),
        "rated_bytes": sum(rated.values()), "debited_bytes": debited,
        "late_debits": late_debits, "full_refund_but_used": full_but_used,
        "refunds": len(refunds), "refund_keys_repeated": len(refunds) - len(
            {key for _p, _a, key in refunds}),
        "over_refunded": over_refunded, "requests": dict(requests),
        "card_state": card.state, "paused_at": card.paused_at is not None,
        "pauses": len(intervals) + (started is not None),
        "pause_intervals_seconds": paused_total, "paused_seconds_charged": charged,
        "backwards_pauses": sum(1 for s, e in intervals if e < s),
        "overlapping_pauses": sum(1 for (_s, e), (s, _e) in zip(intervals, intervals[1:],
                                                                   strict=False) if s < e),
        "validity_off": validity_off,
        "attempts": dict(attempts), "renewed": len(succeeded_keys),
        "renewals_paid_twice": [k for k in succeeded_keys if paid[k] != 1 or charges[k] != 1],
        "paid_orders_without_period": [str(x) for x in orders_without_one_period],
        "periods": Counter(card.periods.values_list("state", flat=True)),
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="race")
    parser.add_argument("action", choices=["setup", "hammer", "report"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args(argv)
    _django()
    if args.action == "setup":
        setup()
    elif args.action == "hammer":
        print("REPORT " + json.dumps(Hammer(args.seed).run(args.seconds)))
    else:
        print("REPORT " + json.dumps(report(), default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
