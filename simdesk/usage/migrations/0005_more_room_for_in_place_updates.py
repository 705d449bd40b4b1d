"""Half of each new page of the card and period tables left free (PostgreSQL only).

Rating updates about three cards in four of a 10,000-record batch (20,000 cards), and
their periods, every batch. With a fill factor of 80 about 10 % of those updates
found no room on the row's page and wrote a new entry into every index of the table
(nine on cards, eleven on periods); at 50 about 2 % do, which took about 8 of the
65 ms of those two updates per batch in the usage benchmark. The price is space: both tables
take up to twice the pages (a period row is a few hundred bytes; the ledger, with
dozens of rows per period, is where simdesk's space goes). Existing pages keep their
layout until the table is rewritten (VACUUM FULL, CLUSTER).
"""

from django.db import migrations

TABLES = ("cards_card", "cards_period")


def set_fillfactor(value):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in TABLES:
            schema_editor.execute(
                f"ALTER TABLE {schema_editor.quote_name(table)} SET (fillfactor = {value})")
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("usage", "0004_rated_record_from_the_ledger"),
    ]

    operations = [
        migrations.RunPython(set_fillfactor(50), set_fillfactor(80)),
    ]
