"""Random purchases, usage (with repeated references, some arriving late) and moves of time
on one card; after every step the ledger invariants and the timing rules must hold.

Each example runs in its own transaction, rolled back afterwards
(``hypothesis.extra.django.TestCase``), so examples never see each other's rows.
"""

from datetime import UTC, datetime, timedelta

from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from simdesk.accounts.models import User
from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import Card, CardState, LedgerEntry, LedgerKind, PeriodState
from simdesk.cards.selectors import card_balance
from simdesk.cards.services import card_debit_usage, period_create, periods_advance
from simdesk.catalog.models import Plan, PlanKind, Stacking, ValidityStart

from .conftest import new_iccid

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

PLANS = {
    # key: (data, days, stacking, validity start, kind); data None = unlimited
    "queue": (100, 2, Stacking.QUEUE, ValidityStart.ON_PURCHASE, PlanKind.BASE),
    "queue-first-use": (100, 3, Stacking.QUEUE, ValidityStart.ON_FIRST_USE, PlanKind.BASE),
    "extend": (50, 1, Stacking.EXTEND, ValidityStart.ON_PURCHASE, PlanKind.TOPUP),
    "parallel": (80, 1, Stacking.PARALLEL, ValidityStart.ON_PURCHASE, PlanKind.TOPUP),
    "parallel-first-use": (60, 2, Stacking.PARALLEL, ValidityStart.ON_FIRST_USE, PlanKind.BASE),
    "unlimited": (None, 1, Stacking.PARALLEL, ValidityStart.ON_PURCHASE, PlanKind.BASE),
}

buy = st.tuples(st.just("buy"), st.sampled_from(sorted(PLANS)))
# A small pool of record ids makes repeats of the same reference common.
use = st.tuples(st.just("use"), st.integers(0, 160), st.integers(0, 12), st.integers(0, 8))
wait = st.tuples(st.just("wait"), st.integers(1, 60))
advance = st.tuples(st.just("advance"))
operations = st.lists(st.one_of(buy, use, use, wait, advance), min_size=1, max_size=30)


class LedgerPropertyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.owner = User.objects.create_user("prop@example.com", "x" * 12)
        cls.plans = {}
        for key, (data, days, stacking, start, kind) in PLANS.items():
            plan = Plan(code=f"prop-{key}", data_bytes=data, validity_days=days,
                        stacking=stacking, validity_start=start, kind=kind,
                        fair_use_bytes=200 if data is None else None,
                        throttle_kbps=128 if data is None else None)
            plan.full_clean()
            plan.save()
            cls.plans[key] = plan

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(operations)
    def test_the_ledger_holds_under_any_sequence_of_operations(self, ops):
        card = Card(iccid=new_iccid(), owner=self.owner)
        card.set_claim_code("PROP01")
        card.save()
        now = START
        usage: dict[str, int] = {}  # reference -> bytes of its first (only counted) report
        queued_at_sale: set[int] = set()
        for step, op in enumerate(ops):
            if op[0] == "buy":
                period = period_create(card=card, plan=self.plans[op[1]], source=f"s{step}",
                                       now=now)
                if period.state == PeriodState.QUEUED:
                    queued_at_sale.add(period.pk)
            elif op[0] == "use":
                _, amount, record, lag_hours = op
                reference = f"usage:prop:{record}"
                result = card_debit_usage(card=card, bytes=amount, reference=reference,
                                          at=now - timedelta(hours=lag_hours), now=now)
                # 0 bytes too: a row of 0 bytes is the record's proof that it counted
                self.assertEqual(result.applied, reference not in usage)
                usage.setdefault(reference, amount)
            elif op[0] == "wait":
                now += timedelta(hours=op[1])
                continue  # the state is allowed to lag until something advances it
            else:
                periods_advance(card=card, now=now)
            self.check_invariants(card, now, usage, queued_at_sale)

    def check_invariants(self, card, now, usage, queued_at_sale):
        card.refresh_from_db()
        self.assertEqual([str(v) for v in ledger_violations()], [])
        periods = list(card.periods.all())

        # balances never negative; credits − debits = remaining for every period
        for period in periods:
            if not period.unlimited:
                self.assertGreaterEqual(period.remaining_bytes, 0)
                total = period.ledger.aggregate(s=Sum("bytes"))["s"]
                self.assertEqual(total, period.remaining_bytes)

        # every usage amount applied exactly once, to a period or as overage
        for reference, amount in usage.items():
            applied = LedgerEntry.objects.filter(reference=reference).aggregate(
                s=Sum("bytes"))["s"] or 0
            self.assertEqual(-applied, amount, reference)
        taken = LedgerEntry.objects.filter(
            card=card, kind__in=(LedgerKind.DEBIT_USAGE, LedgerKind.OVERAGE)
        ).aggregate(s=Sum("bytes"))["s"] or 0
        self.assertEqual(-taken, sum(usage.values()))

        # nothing active has ended; nothing waits in the queue with nothing in front
        active = [p for p in periods if p.state == PeriodState.ACTIVE]
        for period in active:
            self.assertTrue(period.ends_at is None or period.ends_at > now)
            self.assertTrue(period.unlimited or period.remaining_bytes > 0)
        if any(p.state == PeriodState.QUEUED for p in periods):
            self.assertTrue(active)
        self.assertEqual(card.state, CardState.ACTIVE if active else CardState.INACTIVE)

        closings = {p.closed_at for p in periods if p.closed_at is not None}
        for period in periods:
            if period.state == PeriodState.EXPIRED:
                self.assertEqual(period.closed_at, period.ends_at)
            if period.state == PeriodState.EXHAUSTED:
                self.assertEqual(period.remaining_bytes, 0)
                self.assertLessEqual(period.closed_at, now)
            # a queued period starts exactly when the one before it closed
            if period.pk in queued_at_sale and period.activated_at is not None:
                self.assertIn(period.activated_at, closings)
                if period.validity_start == ValidityStart.ON_PURCHASE:
                    self.assertEqual(period.starts_at, period.activated_at)
            # a first-use period starts at its first usage with bytes (not before it was
            # usable; a record of 0 bytes starts nothing)
            if period.validity_start == ValidityStart.ON_FIRST_USE and period.starts_at:
                first = (period.ledger.filter(kind=LedgerKind.DEBIT_USAGE).exclude(bytes=0)
                         .order_by("id").first())
                self.assertEqual(period.starts_at, max(first.at, period.activated_at))
            if period.starts_at is not None:
                self.assertEqual(period.ends_at - period.starts_at,
                                 timedelta(days=period.validity_days)
                                 + self.extension(period))

        balance = card_balance(card=card, now=now)
        self.assertEqual(balance.remaining_bytes,
                         sum(p.remaining_bytes for p in active if not p.unlimited))

    @staticmethod
    def extension(period) -> timedelta:
        """Days added by extend purchases (they move the end, not the start)."""
        extra = timedelta()
        ends = period.starts_at + timedelta(days=period.validity_days)
        rows = period.ledger.filter(kind=LedgerKind.CREDIT_EXTEND).order_by("id")
        if period.validity_start == ValidityStart.ON_FIRST_USE:
            # extensions bought before the first use lengthened validity_days instead
            first = (period.ledger.filter(kind=LedgerKind.DEBIT_USAGE).exclude(bytes=0)
                         .order_by("id").first())
            rows = rows.filter(id__gt=first.id)
        for row in rows:
            days = Plan.objects.get(code=row.note).validity_days
            new_end = max(ends, row.at) + timedelta(days=days)
            extra += new_end - ends
            ends = new_end
        return extra
