"""Model instances from hand-written SQL, for the few hot reads that run on every API call.

Compiling an ORM query (its select list, joins, ordering) costs several times more
CPU than running the query on an indexed row; on the token-authenticated API that
compile dominated each call. These helpers let a selector write its SQL once and still
get instances exactly as the ORM makes them: every concrete column, the backend's and
the fields' converters (SQLite's datetimes and UUIDs, JSON fields), ``Model.from_db``.

On PostgreSQL ``fetch_all`` also prepares the statement on the connection: planning
the balance's join cost PostgreSQL several times more CPU than running it, and a
prepared statement is planned once per connection. ``DATABASE_PREPARED_STATEMENTS``
turns that off (behind a pooler in transaction mode that cannot keep them).

Use them only where a benchmark shows the compile matters; the ORM stays the rule.
"""

import sys
from functools import cache

from django.conf import settings
from django.db import connections
from django.db.models import Model


@cache
def _fields(model: type[Model]) -> tuple:
    return tuple(model._meta.concrete_fields)


def model_columns(model: type[Model], alias: str, *, using: str = "default") -> str:
    """The select list of every concrete column of ``model``, from table alias ``alias``,
    in the order ``model_from_row`` reads them."""
    quote = connections[using].ops.quote_name
    return ", ".join(f"{quote(alias)}.{quote(field.column)}" for field in _fields(model))


def table(model: type[Model], alias: str, *, using: str = "default") -> str:
    """``"<db table>" "<alias>"``, for FROM and JOIN."""
    quote = connections[using].ops.quote_name
    return f"{quote(model._meta.db_table)} {quote(alias)}"


def column(model: type[Model], alias: str, name: str, *, using: str = "default") -> str:
    """``"<alias>"."<column>"`` of field ``name`` (``"pk"`` for the primary key)."""
    quote = connections[using].ops.quote_name
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    return f"{quote(alias)}.{quote(field.column)}"


@cache
def _loader(model: type[Model], vendor: str, using: str) -> tuple:
    connection = connections[using]
    attnames = [field.attname for field in _fields(model)]
    converters = []
    for index, field in enumerate(_fields(model)):
        column = field.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if found:
            converters.append((index, column, found))
    return attnames, converters


def model_from_row(model: type[Model], row, start: int = 0, *, using: str = "default"):
    """The ``model`` instance whose ``model_columns`` begin at ``row[start]``."""
    connection = connections[using]
    attnames, converters = _loader(model, connection.vendor, using)
    values = list(row[start:start + len(attnames)])
    for index, column, functions in converters:
        value = values[index]
        for convert in functions:
            value = convert(value, column, connection)
        values[index] = value
    return model.from_db(using, attnames, values)


def column_count(model: type[Model]) -> int:
    return len(_fields(model))


@cache
def _preparing_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        """Binds on the server and prepares every statement it runs."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparingCursor


def _prepared_cursor(connection):
    """A cursor on Django's own connection, through Django's wrapper (health check,
    error translation, query log), whose statements are prepared."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django switches psycopg's automatic preparing off. Its own cursors bind on the
        # client and never prepare, so this lets only our explicit prepare=True through.
        raw.prepare_threshold = sys.maxsize
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_preparing_cursor_class()(raw))


def fetch_all(sql: str, params: list, *, using: str = "default") -> list[tuple]:
    """The rows of a hot read, prepared on PostgreSQL (see the module's docstring)."""
    connection = connections[using]
    prepared = connection.vendor == "postgresql" and settings.DATABASE_PREPARED_STATEMENTS
    with (_prepared_cursor(connection) if prepared else connection.cursor()) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
