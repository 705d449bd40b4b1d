"""Rating a batch of usage records: what ``usage_rate`` promises."""

from datetime import timedelta

import pytest

from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import LedgerEntry, LedgerKind, NetworkAction, PeriodState
from simdesk.cards.services import card_debit_usage, period_create
from simdesk.usage.models import RatedRecord
from simdesk.usage.services import UsageRecord, usage_rate

MB = 1_000_000


def rec(record_id, card, mb, at, *, up=0):
    return UsageRecord(record_id=record_id, card_id=card.pk, bytes_up=up * MB,
                       bytes_down=mb * MB - up * MB, started_at=at - timedelta(minutes=5),
                       ended_at=at)


@pytest.fixture
def card_with_500mb(make_card, make_plan, alice, now):
    """alice has a card with a 500 MB period active since ``now``."""
    card = make_card(owner=alice)
    period = period_create(card=card, plan=make_plan(data_bytes=500 * MB), source="o1", now=now)
    return card, period


def test_it_debits_each_record_once_with_its_own_ledger_row(card_with_500mb, now):
    card, period = card_with_500mb
    at = now + timedelta(hours=1)
    result = usage_rate([rec("a", card, 100, at, up=10), rec("b", card, 50, at)],
                        source="gw1", now=at)
    assert (result.applied, result.duplicates, result.rejected) == (2, 0, [])
    period.refresh_from_db()
    assert period.remaining_bytes == 350 * MB and period.used_bytes == 150 * MB
    refs = set(LedgerEntry.objects.filter(kind=LedgerKind.DEBIT_USAGE)
               .values_list("reference", flat=True))
    assert refs == {"usage:gw1:a", "usage:gw1:b"}
    assert RatedRecord.objects.count() == 2
    card.refresh_from_db()
    assert card.usage_updated_at == at
    assert list(ledger_violations()) == []


def test_it_counts_a_record_sent_again_as_a_duplicate(card_with_500mb, now):
    card, period = card_with_500mb
    usage_rate([rec("a", card, 100, now)], source="gw1", now=now)
    result = usage_rate([rec("a", card, 100, now), rec("a", card, 100, now),
                         rec("b", card, 1, now)], source="gw1", now=now)
    assert (result.applied, result.duplicates) == (1, 2)
    period.refresh_from_db()
    assert period.remaining_bytes == 399 * MB


def test_the_same_record_id_from_another_source_is_another_record(card_with_500mb, now):
    card, period = card_with_500mb
    usage_rate([rec("a", card, 100, now)], source="gw1", now=now)
    result = usage_rate([rec("a", card, 100, now)], source="gw2", now=now)
    assert result.applied == 1
    period.refresh_from_db()
    assert period.remaining_bytes == 300 * MB


def test_it_rejects_bad_records_and_rates_the_rest(card_with_500mb, now):
    card, period = card_with_500mb
    bad_span = UsageRecord("late", card.pk, 0, MB, now, now - timedelta(seconds=1))
    negative = UsageRecord("neg", card.pk, -1, MB, now, now)
    unknown = UsageRecord("nobody", card.pk + 999, 0, MB, now, now)
    result = usage_rate([bad_span, rec("ok", card, 1, now), negative, unknown],
                        source="gw1", now=now)
    assert result.applied == 1
    assert [record_id for record_id, _reason in result.rejected] == ["late", "neg", "nobody"]
    assert "ends before it starts" in result.rejected[0][1]
    period.refresh_from_db()
    assert period.remaining_bytes == 499 * MB


def test_a_card_that_runs_out_is_disconnected_once_and_reported(card_with_500mb, now,
                                                              django_capture_on_commit_callbacks):
    card, period = card_with_500mb
    with django_capture_on_commit_callbacks(execute=False):
        result = usage_rate([rec("a", card, 400, now), rec("b", card, 150, now)],
                            source="gw1", now=now)
    assert result.exhausted_card_ids == {card.pk}
    period.refresh_from_db()
    card.refresh_from_db()
    assert period.state == PeriodState.EXHAUSTED
    assert card.overage_bytes == 50 * MB
    action = NetworkAction.objects.get(card=card)
    assert action.action == "disconnect"
    assert list(ledger_violations()) == []


def test_it_gives_the_same_ledger_as_card_debit_usage(make_card, make_plan, alice, now):
    plan = make_plan(data_bytes=300 * MB)
    first_use = make_plan(data_bytes=200 * MB, validity_start="on_first_use")
    records = [("r3", 120, 3), ("r1", 200, 1), ("r2", 90, 2), ("r4", 150, 4)]
    outcomes = []
    for way in ("debit", "rate"):
        card = make_card(owner=alice)
        period_create(card=card, plan=plan, source=f"{way}-a", now=now)
        period_create(card=card, plan=first_use, source=f"{way}-b", now=now)
        batch = [rec(rid, card, mb, now + timedelta(hours=h)) for rid, mb, h in records]
        end = now + timedelta(hours=5)
        if way == "debit":
            for r in sorted(batch, key=lambda r: (r.ended_at, r.record_id)):
                card_debit_usage(card=card, bytes=r.bytes, reference=f"usage:{way}:{r.record_id}",
                                 at=r.ended_at, now=end)
        else:
            usage_rate(batch, source=way, now=end)
        card.refresh_from_db()
        outcomes.append((
            card.overage_bytes, card.usage_updated_at,
            [(p.state, p.remaining_bytes, p.used_bytes, p.starts_at, p.closed_at)
             for p in card.periods.order_by("pk")],
            [(e.kind, e.bytes, e.balance_after, e.reference.replace(way, "s"), e.seq, e.at)
             for e in card.ledger.order_by("pk")],
        ))
    assert outcomes[0] == outcomes[1]
    assert list(ledger_violations()) == []


def test_the_common_case_costs_a_fixed_number_of_queries(make_card, make_plan, alice, now,
                                                         django_assert_max_num_queries):
    """Cards whose period simply has the data are rated set-based, not record by record."""
    plan = make_plan(data_bytes=10_000 * MB)
    cards = [make_card(owner=alice) for _ in range(5)]
    for n, card in enumerate(cards):
        period_create(card=card, plan=plan, source=f"o{n}", now=now)
    at = now + timedelta(hours=1)
    batch = [rec(f"r{n}", cards[n % 5], 1, at - timedelta(seconds=n)) for n in range(500)]
    with django_assert_max_num_queries(25):
        result = usage_rate(batch, source="gw1", now=at)
    assert result.applied == 500
    for n, card in enumerate(cards):
        card.refresh_from_db()
        period = card.periods.get()
        assert (period.remaining_bytes, period.used_bytes) == (9_900 * MB, 100 * MB)
        assert card.usage_updated_at == at - timedelta(seconds=n)  # its latest record
    assert list(ledger_violations()) == []


def test_a_record_already_given_to_card_debit_usage_counts_as_a_duplicate(card_with_500mb,
                                                                          now):
    card, period = card_with_500mb
    card_debit_usage(card=card, bytes=100 * MB, reference="usage:gw1:a", at=now, now=now)
    result = usage_rate([rec("a", card, 100, now), rec("b", card, 10, now)], source="gw1",
                        now=now)

    assert (result.applied, result.duplicates) == (1, 1)
    period.refresh_from_db()
    assert period.used_bytes == 110 * MB
    assert list(ledger_violations()) == []


def test_usage_of_a_card_with_nothing_left_is_overage_and_the_network_is_asked_again(
        card_with_500mb, now, django_capture_on_commit_callbacks):
    card, period = card_with_500mb
    with django_capture_on_commit_callbacks(execute=False):
        usage_rate([rec("a", card, 500, now)], source="gw1", now=now)
        soon = now + timedelta(minutes=1)
        result = usage_rate([rec("b", card, 3, soon), rec("c", card, 4, soon)],
                            source="gw1", now=soon)
        later = now + timedelta(minutes=6)
        usage_rate([rec("d", card, 1, later)], source="gw1", now=later)

    assert result.applied == 2 and result.exhausted_card_ids == {card.pk}
    card.refresh_from_db()
    assert card.overage_bytes == 8 * MB
    assert card.usage_updated_at == later
    overage = LedgerEntry.objects.filter(kind=LedgerKind.OVERAGE).order_by("pk")
    assert [(e.reference, e.balance_after) for e in overage] == [
        ("usage:gw1:b", -3 * MB), ("usage:gw1:c", -7 * MB), ("usage:gw1:d", -8 * MB)]
    # Asked when it ran out, not again a minute later, again after five minutes.
    asked = NetworkAction.objects.filter(card=card, action="disconnect").order_by("requested_at")
    assert [a.requested_at for a in asked] == [now, later]
    assert list(ledger_violations()) == []


def test_a_record_from_the_future_counts_now(card_with_500mb, now):
    card, _period = card_with_500mb
    usage_rate([rec("a", card, 1, now + timedelta(hours=3))], source="gw1", now=now)

    card.refresh_from_db()
    assert card.usage_updated_at == now
    assert LedgerEntry.objects.get(reference="usage:gw1:a").at == now


def test_a_zero_byte_record_moves_last_updated_and_counts_once(card_with_500mb, now):
    card, period = card_with_500mb
    later = now + timedelta(minutes=1)
    first = usage_rate([rec("z", card, 0, later)], source="gw1", now=later)
    again = usage_rate([rec("z", card, 0, later)], source="gw1", now=later)

    assert (first.applied, again.duplicates) == (1, 1)
    card.refresh_from_db()
    assert card.usage_updated_at == later
    # Its claim: one row of 0 bytes, which changes no balance.
    row = LedgerEntry.objects.get(reference="usage:gw1:z")
    assert (row.period_id, row.bytes, row.balance_after) == (period.pk, 0, 500 * MB)


SETUPS = {
    # name: (plans as (MB or None for unlimited, stacking, validity start), pause the card)
    "paused": ([(300, "queue", "on_purchase")], True),
    "unlimited-with-fair-use": ([(None, "parallel", "on_purchase")], False),
    "two-periods": ([(300, "queue", "on_purchase"), (100, "parallel", "on_purchase")], False),
    "first-use-queued": ([(200, "queue", "on_purchase"), (200, "queue", "on_first_use")],
                         False),
}


@pytest.mark.parametrize("setup", sorted(SETUPS))
def test_cards_where_more_than_a_debit_happens_agree_with_card_debit_usage(
        setup, make_card, make_plan, alice, now):
    plans_spec, pause = SETUPS[setup]
    plans = [make_plan(data_bytes=mb * MB if mb else None, stacking=stacking,
                       validity_start=start, fair_use_bytes=None if mb else 250 * MB,
                       throttle_kbps=None if mb else 256)
             for mb, stacking, start in plans_spec]
    amounts = [120, 90, 150, 40, 70]
    outcomes = []
    for way in ("debit", "rate"):
        card = make_card(owner=alice)
        for n, plan in enumerate(plans):
            period_create(card=card, plan=plan, source=f"{way}-{n}", now=now)
        if pause:
            card.refresh_from_db()
            card.pause(at=now)
        batch = [rec(f"r{n}", card, mb, now + timedelta(minutes=n + 1))
                 for n, mb in enumerate(amounts)]
        end = now + timedelta(hours=1)
        if way == "debit":
            for r in batch:
                card_debit_usage(card=card, bytes=r.bytes, reference=f"usage:{way}:{r.record_id}",
                                 at=r.ended_at, now=end)
        else:
            usage_rate(batch[::-1], source=way, now=end)
        card.refresh_from_db()
        outcomes.append((
            card.state, card.overage_bytes, card.usage_updated_at,
            [(p.state, p.remaining_bytes, p.used_bytes, p.starts_at, p.closed_at,
              p.fair_use_reached_at) for p in card.periods.order_by("pk")],
            [(e.kind, e.bytes, e.balance_after, e.reference.replace(way, "s"), e.seq, e.at)
             for e in card.ledger.order_by("pk")],
        ))
    assert outcomes[0] == outcomes[1]
    assert list(ledger_violations()) == []


def test_crossing_a_threshold_queues_the_alert_check_and_the_low_data_renewal(
        make_card, make_plan, alice, now, django_capture_on_commit_callbacks, monkeypatch):
    from simdesk.renewals import tasks as renewal_tasks
    from simdesk.renewals.models import RenewalSettings
    from simdesk.usage import tasks as usage_tasks

    alerted, renewed = [], []

    class Recorder:
        def __init__(self, into):
            self.enqueue = lambda card_id: into.append(card_id)

    monkeypatch.setattr(usage_tasks, "card_alerts_check", Recorder(alerted))
    monkeypatch.setattr(renewal_tasks, "renewal_run", Recorder(renewed))
    plan = make_plan(data_bytes=1000 * MB)
    quiet, crossing, low = (make_card(owner=alice) for _ in range(3))
    for n, card in enumerate((quiet, crossing, low)):
        period_create(card=card, plan=plan, source=f"o{n}", now=now)
    RenewalSettings.objects.create(card=low, enabled=True, trigger_low_data_percent=25)
    # alice has the default thresholds (80 % and 100 % used)
    with django_capture_on_commit_callbacks(execute=True):
        usage_rate([rec("q", quiet, 100, now), rec("c", crossing, 810, now),
                    rec("l", low, 760, now)], source="gw1", now=now)
    assert alerted == [crossing.pk]
    assert renewed == [low.pk]

    alerted.clear()
    renewed.clear()
    with django_capture_on_commit_callbacks(execute=True):
        usage_rate([rec("c2", crossing, 10, now)], source="gw1", now=now)
    assert (alerted, renewed) == ([], [])  # nothing crossed again
