"""Model fields of the project's own."""

from django.db import models


class AppendOnlyAutoField(models.BigAutoField):
    """A ``BigAutoField`` for append-only tables written many rows at a time: on SQLite
    the plain rowid alias, without ``AUTOINCREMENT``.

    ``AUTOINCREMENT`` only matters when the row with the highest id can be deleted
    (its id would be given out again); for rows that are never deleted both give the
    same ids. Its price is paid on every row inserted: SQLite reads and rewrites the
    table's row in ``sqlite_sequence``, a table of one row per table, which made
    storing usage records a third slower. PostgreSQL is unchanged (an identity column).
    """

    def db_type_suffix(self, connection):
        if connection.vendor == "sqlite":
            return None
        return super().db_type_suffix(connection)
