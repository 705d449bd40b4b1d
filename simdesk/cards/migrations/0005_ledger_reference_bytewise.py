"""Ledger references compared byte by byte on PostgreSQL (collation "C").

A reference is an identifier (``usage:<source>:<record id>``, ``order:17``), never
text to sort for people. Under the database's language collation every comparison
in the (reference, seq) unique index goes through the C library's collation
functions; rating probes and extends that index once per usage record, and byte
comparison makes both cheaper. Equality and uniqueness are the same either way.
SQLite already compares text bytewise.
"""

from django.db import migrations


def collation(name):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            "ALTER TABLE cards_ledgerentry ALTER COLUMN reference "
            f"TYPE varchar(200) COLLATE {name}")
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("cards", "0004_ledger_keys_without_constraints"),
    ]

    operations = [
        migrations.RunPython(collation('"C"'), collation('"default"')),
    ]
