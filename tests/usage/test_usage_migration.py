"""Upgrading to stored records (usage 0006): records rated before, known only by their
ledger rows, become Record rows, so a record sent again after the upgrade still counts
once, and the cursor starts after them."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from simdesk.cards.models import LedgerKind
from simdesk.cards.services import card_debit_usage, period_create
from simdesk.usage.ledger_check import usage_violations
from simdesk.usage.models import Record, Source
from simdesk.usage.services import usage_rate_pending, usage_store

from .conftest import MB, rated_through, rec

BEFORE = ("usage", "0005_more_room_for_in_place_updates")
AFTER = ("usage", "0006_usage_records_and_rating_runs")


@pytest.fixture
def usage_at_0005(transactional_db):
    """The usage app migrated back to 0005 (the engine before stored records); migrated
    forward to the latest state again afterwards."""
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate([BEFORE])
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(latest)


def migrate_to_0006():
    executor = MigrationExecutor(connection)  # a fresh graph: the one above is spent
    executor.migrate([AFTER])


def test_records_rated_before_the_upgrade_are_stored_and_count_as_duplicates_after_it(
        usage_at_0005, make_card, make_plan, now):
    card = make_card()
    period = period_create(card=card, plan=make_plan(data_bytes=500 * MB), source="o", now=now)
    at = now + timedelta(minutes=3)
    # How the old engine rated record "a" of gw1: its own usage row, the record's claim;
    # and a record id with a colon in it (the source ends at the first colon).
    card_debit_usage(card=card, bytes=100 * MB, reference="usage:gw1:a", at=at, now=at)
    card_debit_usage(card=card, bytes=5 * MB, reference="usage:gw1:b:2", at=at, now=at)
    assert card.ledger.get(reference="usage:gw1:a").kind == LedgerKind.DEBIT_USAGE
    assert Record._meta.db_table not in connection.introspection.table_names()

    migrate_to_0006()

    stored = {r.record_id: r for r in Record.objects.filter(
        source_id=Source.objects.get(name="gw1").pk)}
    assert sorted(stored) == ["a", "b:2"]
    assert (stored["a"].card_id, stored["a"].bytes, stored["a"].at) == (card.pk, 100 * MB, at)
    assert stored["b:2"].bytes == 5 * MB
    assert rated_through() == max(r.pk for r in stored.values())
    assert list(usage_violations()) == []

    again = usage_store([rec("a", card, 100, at), rec("b:2", card, 5, at)], source="gw1")
    assert (again.applied, again.duplicates) == (0, 2)
    usage_rate_pending(now=at)
    period.refresh_from_db()
    assert period.used_bytes == 105 * MB
