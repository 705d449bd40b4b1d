"""Any interleaving of duplicated and reordered usage records, across batches and sources,
stored and rated in any split between ``usage_store``, ``usage_rate_pending`` and
``usage_rate``, in rating runs of any size, leaves the same balances as applying each
distinct record once, and the ledger holds.

Record times lie within a few hours and every period lasts days (first-use periods a
month), so no period ends between two records: then the order in which usage arrives
cannot change any balance, only when a used-up period's successor started.
"""

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from simdesk.accounts.models import User
from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import Card
from simdesk.cards.services import card_debit_usage, period_create
from simdesk.catalog.models import Plan, PlanKind, Stacking, ValidityStart
from simdesk.usage import rating
from simdesk.usage.ledger_check import usage_violations
from simdesk.usage.models import RatingCursor, Record
from simdesk.usage.services import UsageRecord, usage_rate, usage_rate_pending, usage_store
from tests.cards.conftest import new_iccid

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NOW = START + timedelta(hours=5)

PLANS = {
    # key: (data, days, stacking, validity start); data None = unlimited
    "queue": (1000, 5, Stacking.QUEUE, ValidityStart.ON_PURCHASE),
    "parallel": (600, 3, Stacking.PARALLEL, ValidityStart.ON_PURCHASE),
    "first-use": (800, 30, Stacking.QUEUE, ValidityStart.ON_FIRST_USE),
    "unlimited": (None, 7, Stacking.PARALLEL, ValidityStart.ON_PURCHASE),
}

cards = st.lists(st.lists(st.sampled_from(sorted(PLANS)), max_size=3), min_size=1, max_size=3)
# (source, card index, bytes, minutes after START); the record id is its position.
distinct = st.lists(st.tuples(st.sampled_from("ab"), st.integers(0, 2), st.integers(0, 700),
                              st.integers(0, 240)), min_size=1, max_size=25)
# How a batch goes in: stored and rated at once; stored only (rated by whoever rates
# next, as after a crash between the two steps); stored, then full runs rated (a bulk
# import between its batches); stored, then everything waiting rated.
WAYS = ["rate", "store", "store+full-runs", "store+pending"]


class RatingPropertyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.owner = User.objects.create_user("rating@example.com", "x" * 12)
        cls.plans = {}
        for key, (data, days, stacking, start) in PLANS.items():
            plan = Plan(code=f"rate-{key}", data_bytes=data, validity_days=days,
                        stacking=stacking, validity_start=start, kind=PlanKind.BASE,
                        fair_use_bytes=900 if data is None else None,
                        throttle_kbps=128 if data is None else None)
            plan.full_clean()
            plan.save()
            cls.plans[key] = plan

    def _cards(self, plan_lists, tag):
        made = []
        for n, keys in enumerate(plan_lists):
            card = Card(iccid=new_iccid(), owner=self.owner)
            card.save()
            for m, key in enumerate(keys):
                period_create(card=card, plan=self.plans[key], source=f"{tag}{card.pk}-{n}-{m}",
                              now=START)
            made.append(card)
        return made

    @staticmethod
    def _balances(card_list):
        out = []
        for card in card_list:
            card.refresh_from_db()
            out.append((card.overage_bytes, card.usage_updated_at, card.state,
                        [(p.plan_code, p.state, p.remaining_bytes, p.used_bytes)
                         for p in card.periods.order_by("pk")]))
        return out

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(cards, distinct, st.data())
    def test_duplicates_and_reordering_change_no_balance(self, plan_lists, records, data):
        n_cards = len(plan_lists)
        records = [(src, card % n_cards, nbytes, minute)
                   for src, card, nbytes, minute in records]
        # Every distinct record delivered at least once, some again, in any order,
        # cut into batches of any size; each batch goes out one call per source.
        extra = data.draw(st.lists(st.integers(0, len(records) - 1), max_size=20))
        deliveries = data.draw(st.permutations(list(range(len(records))) + extra))
        cuts = sorted(data.draw(st.sets(st.integers(1, max(len(deliveries) - 1, 1)),
                                        max_size=5)))
        chunk = data.draw(st.sampled_from([1, 3, 10_000]))

        rated = self._cards(plan_lists, "rated")

        def record(index):
            _src, card, nbytes, minute = records[index]
            at = START + timedelta(minutes=minute)
            up = nbytes // 3
            return UsageRecord(record_id=f"r{index}", card_id=rated[card].pk, bytes_up=up,
                               bytes_down=nbytes - up, started_at=at - timedelta(minutes=1),
                               ended_at=at)

        applied = duplicates = 0
        old = rating.CHUNK
        rating.CHUNK = chunk
        try:
            for start, end in zip([0, *cuts], [*cuts, len(deliveries)], strict=True):
                batch = deliveries[start:end]
                for source in data.draw(st.permutations(["a", "b"])):
                    mine = [record(i) for i in batch if records[i][0] == source]
                    if not mine:
                        continue
                    way = data.draw(st.sampled_from(WAYS))
                    if way == "rate":
                        result = usage_rate(mine, source=source, now=NOW)
                    else:
                        result = usage_store(mine, source=source)
                        if way != "store":
                            usage_rate_pending(now=NOW, full_runs_only=way == "store+full-runs")
                    assert result.rejected == []
                    applied += result.applied
                    duplicates += result.duplicates
            usage_rate_pending(now=NOW)  # what is left waiting
        finally:
            rating.CHUNK = old
        assert applied == len(records)
        assert duplicates == len(deliveries) - len(records)
        assert Record.objects.count() == len(records)
        assert RatingCursor.objects.get().through == Record.objects.latest("pk").pk

        once = self._cards(plan_lists, "once")
        for index in sorted(range(len(records)), key=lambda i: (records[i][3], i)):
            source, card, nbytes, minute = records[index]
            card_debit_usage(card=once[card], bytes=nbytes,
                             reference=f"usage:once-{source}:r{index}",
                             at=START + timedelta(minutes=minute), now=NOW)

        assert self._balances(rated) == self._balances(once)
        assert list(ledger_violations()) == []
        assert list(usage_violations()) == []
