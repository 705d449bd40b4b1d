"""Usage records keyed by SQLite's rowid without AUTOINCREMENT (PostgreSQL: no change).

With AUTOINCREMENT SQLite reads and rewrites the table's row of ``sqlite_sequence`` for
every record stored, a third of the cost of storing them. Records are never deleted,
so the ids given out are the same; SQLite copies the table once to change it.
"""

from django.db import migrations

import simdesk.core.fields


class Migration(migrations.Migration):

    dependencies = [
        ("usage", "0006_usage_records_and_rating_runs"),
    ]

    operations = [
        migrations.AlterField(
            model_name="record",
            name="id",
            field=simdesk.core.fields.AppendOnlyAutoField(primary_key=True, serialize=False),
        ),
    ]
