"""Rating usage records: what ``usage_rate`` promises.

Balances, period states and times, overage and "last updated" are those of applying
each distinct record once with ``card_debit_usage`` in time order; the ledger holds
them in fewer rows (a plain card's usage per rating run and quarter hour), so the
comparisons below are on balances and ledger sums, never on rows one by one.
"""

from collections import defaultdict
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import LedgerEntry, LedgerKind, NetworkAction, PeriodState
from simdesk.cards.services import card_debit_usage, period_create
from simdesk.usage.ledger_check import usage_violations
from simdesk.usage.models import RatingRun, Record
from simdesk.usage.services import UsageRecord, usage_rate, usage_store

from .conftest import MB, rated_through, rec


def consistent() -> bool:
    return list(ledger_violations()) == [] and list(usage_violations()) == []


def outcome(card):
    """Everything rating promises about ``card``, comparable across two cards: its
    state, overage and last update; each period's state, balances and times; and the
    ledger's sums per period (by position) and kind."""
    card.refresh_from_db()
    periods = list(card.periods.order_by("pk"))
    position = {p.pk: n for n, p in enumerate(periods)}
    sums = defaultdict(int)
    for period_id, kind, amount in card.ledger.values_list("period_id", "kind", "bytes"):
        sums[(position.get(period_id), kind)] += amount
    return (card.state, card.overage_bytes, card.usage_updated_at,
            [(p.state, p.remaining_bytes, p.used_bytes, p.starts_at, p.ends_at, p.closed_at,
              p.fair_use_reached_at) for p in periods],
            dict(sums))


def rated_run() -> int:
    """The latest rating run."""
    return RatingRun.objects.latest("pk").pk


def debit_one_by_one(card, records, *, source, now):
    """The reference: each record applied on its own by ``card_debit_usage``, in the
    order of its time, then its record id."""
    for r in sorted(records, key=lambda r: (min(r.ended_at, now), r.record_id)):
        card_debit_usage(card=card, bytes=r.bytes, reference=f"usage:{source}:{r.record_id}",
                         at=r.ended_at, now=now)


def applied(way, card, records, *, now):
    """``card``'s outcome after the records went in one ``way``: "debit", one by one with
    ``card_debit_usage`` (the reference), or "rate", in one batch (sent in reverse, so the
    order they arrive in is not the order they count in)."""
    if way == "debit":
        debit_one_by_one(card, records, source=way, now=now)
    else:
        usage_rate(records[::-1], source=way, now=now)
    return outcome(card)


def test_it_debits_each_record_once(card_with_500mb, now):
    card, period = card_with_500mb
    at = now + timedelta(hours=1)
    result = usage_rate([rec("a", card, 100, at, up=10), rec("b", card, 50, at)],
                        source="gw1", now=at)

    assert (result.applied, result.duplicates, result.rejected) == (2, 0, [])
    period.refresh_from_db()
    assert period.remaining_bytes == 350 * MB and period.used_bytes == 150 * MB
    stored = Record.objects.order_by("pk")
    assert [(r.record_id, r.bytes, r.card_id, r.at) for r in stored] == [
        ("a", 100 * MB, card.pk, at), ("b", 50 * MB, card.pk, at)]
    assert rated_through() == stored.last().pk
    card.refresh_from_db()
    assert card.usage_updated_at == at
    assert consistent()


def test_it_counts_a_record_sent_again_as_a_duplicate(card_with_500mb, now):
    card, period = card_with_500mb
    usage_rate([rec("a", card, 100, now)], source="gw1", now=now)
    result = usage_rate([rec("a", card, 100, now), rec("a", card, 100, now),
                         rec("b", card, 1, now)], source="gw1", now=now)

    assert (result.applied, result.duplicates) == (1, 2)
    period.refresh_from_db()
    assert period.remaining_bytes == 399 * MB
    assert Record.objects.count() == 2
    assert consistent()


def test_a_record_sent_again_under_another_card_still_counts_once(card_with_500mb, make_card,
                                                                    now):
    card, period = card_with_500mb
    other = make_card()
    usage_rate([rec("a", card, 100, now)], source="gw1", now=now)
    result = usage_rate([rec("a", other, 100, now)], source="gw1", now=now)

    assert (result.applied, result.duplicates) == (0, 1)
    other.refresh_from_db()
    assert other.overage_bytes == 0 and other.usage_updated_at is None
    assert consistent()


def test_a_record_id_twice_in_one_batch_counts_once_as_first_sent(card_with_500mb, make_card,
                                                                    now):
    card, period = card_with_500mb
    other = make_card()
    result = usage_rate([rec("a", card, 100, now), rec("b", card, 1, now),
                         rec("a", other, 300, now), rec("a", card, 100, now)],
                        source="gw1", now=now)

    assert (result.applied, result.duplicates, result.rejected) == (2, 2, [])
    assert sorted(Record.objects.values_list("record_id", "card_id")) == [
        ("a", card.pk), ("b", card.pk)]
    period.refresh_from_db()
    assert period.remaining_bytes == 399 * MB
    assert consistent()


@pytest.mark.parametrize("unknown_first", [True, False])
def test_a_record_id_twice_in_one_batch_once_for_no_card_is_decided_by_the_first(
        unknown_first, card_with_500mb, now):
    card, period = card_with_500mb
    known, unknown = rec("a", card, 100, now), UsageRecord("a", card.pk + 999, 0, MB, now, now)
    batch = [unknown, known] if unknown_first else [known, unknown]
    result = usage_rate(batch, source="gw1", now=now)

    if unknown_first:
        assert (result.applied, result.duplicates) == (0, 1)
        assert result.rejected == [("a", "No card has this id.")]
        assert not Record.objects.exists()
    else:
        assert (result.applied, result.duplicates, result.rejected) == (1, 1, [])
        assert Record.objects.get().card_id == card.pk
    assert consistent()


def test_the_same_record_id_from_another_source_is_another_record(card_with_500mb, now):
    card, period = card_with_500mb
    usage_rate([rec("a", card, 100, now)], source="gw1", now=now)
    result = usage_rate([rec("a", card, 100, now)], source="gw2", now=now)

    assert result.applied == 1
    period.refresh_from_db()
    assert period.remaining_bytes == 300 * MB
    assert consistent()


def test_it_rejects_bad_records_with_the_reason_and_rates_the_rest(card_with_500mb, now):
    card, period = card_with_500mb
    bad_span = UsageRecord("late", card.pk, 0, MB, now, now - timedelta(seconds=1))
    negative = UsageRecord("neg", card.pk, -1, MB, now, now)
    unknown = UsageRecord("nobody", card.pk + 999, 0, MB, now, now)
    no_id = UsageRecord(" ", card.pk, 0, MB, now, now)
    result = usage_rate([bad_span, rec("ok", card, 1, now), negative, unknown, no_id],
                        source="gw1", now=now)

    assert (result.applied, result.duplicates) == (1, 0)
    reasons = dict(result.rejected)
    assert [record_id for record_id, _reason in result.rejected] == [
        "late", "neg", " ", "nobody"]  # checked first; unknown cards found when stored
    assert "ends before it starts" in reasons["late"]
    assert "bytes_up must be a whole number of bytes" in reasons["neg"]
    assert "no record id" in reasons[" "]
    assert reasons["nobody"] == "No card has this id."
    assert list(Record.objects.values_list("record_id", flat=True)) == ["ok"]
    period.refresh_from_db()
    assert period.remaining_bytes == 499 * MB


def test_an_id_that_is_no_card_is_refused_among_cards_whose_ids_run_on(make_card, now):
    # Cards 1 and 3 of a run of ids, and no card 2: the records of 1 and 3 are stored,
    # the one of 2 refused (whichever way the cards are looked up).
    first = make_card()
    third = make_card(pk=first.pk + 2)
    missing = UsageRecord("gap", first.pk + 1, 0, MB, now, now)
    result = usage_store([rec("one", first, 1, now), missing, rec("three", third, 1, now)],
                         source="gw1")

    assert (result.applied, result.rejected) == (2, [("gap", "No card has this id.")])
    assert sorted(Record.objects.values_list("record_id", flat=True)) == ["one", "three"]


def test_a_batch_of_only_rejected_records_stores_and_rates_nothing(card_with_500mb, now):
    card, _period = card_with_500mb
    result = usage_rate([UsageRecord("nobody", card.pk + 999, 0, MB, now, now)],
                        source="gw1", now=now)

    assert (result.applied, len(result.rejected)) == (0, 1)
    assert (Record.objects.count(), RatingRun.objects.count()) == (0, 0)


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
    assert consistent()


def test_it_gives_the_same_balances_as_card_debit_usage(make_card, make_plan, alice, now):
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
        outcomes.append(applied(way, card, batch, now=end))

    assert outcomes[0] == outcomes[1]
    assert consistent()


def test_a_period_used_up_and_its_successor_started_on_the_way_agree_with_card_debit_usage(
        make_card, make_plan, alice, now):
    """The exact path: records before the period runs out (two periods: one by one),
    the record that uses it up and starts the queued one, then more usage in the same
    quarter hour and the next (one period: several records in one debit), and usage
    past everything (overage)."""
    plans = [make_plan(data_bytes=300 * MB), make_plan(data_bytes=200 * MB)]
    minutes_and_mb = [(1, 50), (2, 60), (3, 70), (4, 150), (5, 20), (6, 10), (7, 5),
                      (16, 30), (17, 40), (18, 60), (19, 25), (20, 7), (21, 3)]
    outcomes = []
    for way in ("debit", "rate"):
        card = make_card(owner=alice)
        for n, plan in enumerate(plans):
            period_create(card=card, plan=plan, source=f"{way}-{n}", now=now)
        batch = [rec(f"r{m:02d}", card, mb, now + timedelta(minutes=m))
                 for m, mb in minutes_and_mb]
        end = now + timedelta(hours=1)
        outcomes.append(applied(way, card, batch, now=end))
        if way == "rate":
            merged = card.ledger.filter(reference__startswith=f"rating:{rated_run()}:{card.pk}:")
            assert merged.exists()  # several records went in one debit

    assert outcomes[0] == outcomes[1]
    periods = outcomes[1][3]
    assert [p[0] for p in periods] == [PeriodState.EXHAUSTED, PeriodState.EXHAUSTED]
    assert periods[1][3] == now + timedelta(minutes=4)  # started when the first ran out
    assert outcomes[1][1] == 30 * MB  # the overage
    assert consistent()


def test_the_common_case_costs_the_same_queries_however_many_records_and_cards(
        make_card, make_plan, alice, now):
    """Cards whose period simply has the data are rated set-based, not record by record."""
    plan = make_plan(data_bytes=10_000 * MB)
    cards = [make_card(owner=alice) for _ in range(11)]
    for n, card in enumerate(cards):
        period_create(card=card, plan=plan, source=f"o{n}", now=now)
    at = now + timedelta(hours=1)
    usage_rate([rec("warm-up", cards[10], 1, at)], source="gw1", now=at)
    queries = []
    for size, few in ((40, 2), (500, 10)):  # records, cards
        batch = [rec(f"r{size}-{n}", cards[n % few], 1, at - timedelta(seconds=n))
                 for n in range(size)]
        with CaptureQueriesContext(connection) as context:
            assert usage_rate(batch, source="gw1", now=at).applied == size
        queries.append(len(context))

    assert queries[0] == queries[1]
    for n, card in enumerate(cards[:10]):
        card.refresh_from_db()
        period = card.periods.get()
        used = 50 + (20 if n < 2 else 0)
        assert (period.remaining_bytes, period.used_bytes) == ((10_000 - used) * MB, used * MB)
        assert card.usage_updated_at == at - timedelta(seconds=n)  # its latest record
    assert consistent()


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
    assert sum(e.bytes for e in overage) == -8 * MB
    assert overage.last().balance_after == -8 * MB
    # Asked when it ran out, not again a minute later, again after five minutes.
    asked = NetworkAction.objects.filter(card=card, action="disconnect").order_by("requested_at")
    assert [a.requested_at for a in asked] == [now, later]
    assert consistent()


def test_a_record_from_the_future_counts_now(card_with_500mb, now):
    card, period = card_with_500mb
    usage_rate([rec("a", card, 1, now + timedelta(hours=3))], source="gw1", now=now)

    card.refresh_from_db()
    period.refresh_from_db()
    assert card.usage_updated_at == now
    assert period.used_bytes == MB
    assert LedgerEntry.objects.get(kind=LedgerKind.DEBIT_USAGE).at == now
    # Kept as sent: its own time is the network's.
    assert Record.objects.get().at == now + timedelta(hours=3)


def test_a_zero_byte_record_moves_last_updated_and_counts_once(card_with_500mb, now):
    card, period = card_with_500mb
    later = now + timedelta(minutes=1)
    first = usage_rate([rec("z", card, 0, later)], source="gw1", now=later)
    again = usage_rate([rec("z", card, 0, later)], source="gw1", now=later)

    assert (first.applied, first.duplicates, again.applied, again.duplicates) == (1, 0, 0, 1)
    card.refresh_from_db()
    period.refresh_from_db()
    assert card.usage_updated_at == later
    assert (period.remaining_bytes, period.used_bytes) == (500 * MB, 0)
    # Its claim is its Record; no usage row of 0 bytes.
    assert Record.objects.get().bytes == 0
    assert not LedgerEntry.objects.filter(kind=LedgerKind.DEBIT_USAGE).exists()
    assert consistent()


SETUPS = {
    # name: (plans as (MB or None for unlimited, stacking, validity start), pause the card)
    "paused": ([(300, "queue", "on_purchase")], True),
    "unlimited-with-fair-use": ([(None, "parallel", "on_purchase")], False),
    "two-periods": ([(300, "queue", "on_purchase"), (100, "parallel", "on_purchase")], False),
    "first-use-queued": ([(200, "queue", "on_purchase"), (200, "queue", "on_first_use")],
                         False),
    "no-periods": ([], False),
}


@pytest.mark.parametrize("setup", sorted(SETUPS))
def test_cards_where_more_than_a_debit_happens_agree_with_card_debit_usage(
        setup, make_card, make_plan, alice, now):
    plans_spec, pause = SETUPS[setup]
    plans = [make_plan(data_bytes=mb * MB if mb else None, stacking=stacking,
                       validity_start=start, fair_use_bytes=None if mb else 250 * MB,
                       throttle_kbps=None if mb else 256)
             for mb, stacking, start in plans_spec]
    amounts = [120, 90, 150, 40, 0, 70, 30]
    outcomes = []
    for way in ("debit", "rate"):
        card = make_card(owner=alice)
        for n, plan in enumerate(plans):
            period_create(card=card, plan=plan, source=f"{way}-{n}", now=now)
        if pause:
            card.refresh_from_db()
            card.pause(at=now)
        # Two quarter hours of usage, the last record a minute after the hour.
        batch = [rec(f"r{n}", card, mb, now + timedelta(minutes=7 * n + 1))
                 for n, mb in enumerate(amounts)]
        end = now + timedelta(hours=1)
        outcomes.append(applied(way, card, batch, now=end))

    assert outcomes[0] == outcomes[1]
    assert consistent()


def test_late_records_of_a_period_that_ended_but_was_not_closed_agree_with_card_debit_usage(
        make_card, make_plan, alice, now):
    # The period ended a day ago and nothing closed it yet; its last records come now.
    # The first debit closes it, so the records after that are overage.
    plan = make_plan(data_bytes=500 * MB, days=30)
    ended = now - timedelta(days=1)
    outcomes = []
    for way in ("debit", "rate"):
        card = make_card(owner=alice)
        period_create(card=card, plan=plan, source=way, now=ended - timedelta(days=30))
        batch = [rec(f"r{n}", card, 100, ended - timedelta(minutes=10 - n)) for n in range(3)]
        outcomes.append(applied(way, card, batch, now=now))

    assert outcomes[0] == outcomes[1]
    assert outcomes[1][1] == 200 * MB  # overage
    assert consistent()


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


def test_a_period_that_runs_out_in_the_exact_path_still_queues_its_alert(
        make_card, make_plan, alice, now, django_capture_on_commit_callbacks, monkeypatch):
    from simdesk.usage import tasks as usage_tasks

    alerted = []
    monkeypatch.setattr(usage_tasks, "card_alerts_check",
                        type("Recorder", (), {"enqueue": staticmethod(
                            lambda card_id: alerted.append(card_id))}))
    card = make_card(owner=alice)
    period_create(card=card, plan=make_plan(data_bytes=100 * MB), source="o", now=now)
    with django_capture_on_commit_callbacks(execute=True):
        usage_rate([rec("a", card, 60, now), rec("b", card, 50, now)], source="gw1", now=now)
    assert alerted == [card.pk]
