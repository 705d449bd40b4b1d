"""Hot reads in hand-written SQL: the same instances as the ORM's, prepared on PostgreSQL.

(The models' every field is compared with the ORM's in tests/cards/test_selectors.py
and tests/api/test_tokens.py, on whichever database the suite runs.)
"""

import pytest
from django.db import connection

from simdesk.core.models import ClockSlot
from simdesk.core.rows import column, fetch_all, model_columns, model_from_row, table

pytestmark = pytest.mark.django_db


def slot_sql() -> str:
    return (f"SELECT {model_columns(ClockSlot, 's')} FROM {table(ClockSlot, 's')} "  # noqa: S608
            f"WHERE {column(ClockSlot, 's', 'name')} = %s")


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_it_loads_a_row_as_the_orm_does(now):
    saved = ClockSlot.objects.create(name="sweep", last_run_at=now)

    [row] = fetch_all(slot_sql(), ["sweep"])
    loaded = model_from_row(ClockSlot, row)

    assert (loaded.pk, loaded.name, loaded.last_run_at) == (saved.pk, "sweep", now)
    assert not loaded._state.adding and loaded._state.db == "default"
    assert fetch_all(slot_sql(), ["nothing"]) == []


@pytest.mark.postgres
def test_on_postgresql_a_hot_read_is_a_prepared_statement(settings):
    settings.DATABASE_PREPARED_STATEMENTS = True

    fetch_all(slot_sql(), ["sweep"])

    assert any("pg_prepared" not in text and '"s"."name" = $1' in text
               for text in prepared_statements())


@pytest.mark.postgres
def test_it_prepares_nothing_when_switched_off(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    ordered = f"{slot_sql()} ORDER BY {column(ClockSlot, 's', 'pk')}"

    assert fetch_all(ordered, ["sweep"]) == []
    assert not any('"s"."name" = $1 ORDER BY' in text for text in prepared_statements())
