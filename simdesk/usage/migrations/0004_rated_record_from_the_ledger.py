"""A usage record is claimed by its own first ledger row, not by a row of its own.

Rating wrote two rows per record (a RatedRecord and its ledger row), each with its own
unique key on the record. The ledger's (reference, seq) key already makes a record
count once, so the RatedRecord table goes and the name stays as a read-only view of
the ledger's usage rows, one row per record.
"""

import django.db.models.deletion
from django.db import migrations, models

VIEW = """
CREATE VIEW usage_ratedrecord AS
SELECT reference, MIN(card_id) AS card_id, -SUM(bytes) AS bytes, MIN(at) AS at,
       MIN(created_at) AS rated_at
FROM cards_ledgerentry
WHERE kind IN ('debit_usage', 'overage') AND reference LIKE 'usage:%'
GROUP BY reference
"""


class Migration(migrations.Migration):

    dependencies = [
        ("cards", "0005_ledger_reference_bytewise"),
        ("usage", "0003_room_for_in_place_updates"),
    ]

    operations = [
        migrations.DeleteModel(name="RatedRecord"),
        migrations.CreateModel(
            name="RatedRecord",
            fields=[
                ("reference", models.CharField(max_length=200, primary_key=True,
                                               serialize=False, verbose_name="reference")),
                ("bytes", models.BigIntegerField(verbose_name="bytes")),
                ("at", models.DateTimeField(verbose_name="at")),
                ("rated_at", models.DateTimeField(verbose_name="rated at")),
                ("card", models.ForeignKey(db_constraint=False,
                                           on_delete=django.db.models.deletion.DO_NOTHING,
                                           related_name="+", to="cards.card",
                                           verbose_name="card")),
            ],
            options={
                "verbose_name": "rated usage record",
                "verbose_name_plural": "rated usage records",
                "db_table": "usage_ratedrecord",
                "managed": False,
            },
        ),
        migrations.RunSQL(VIEW, "DROP VIEW usage_ratedrecord"),
    ]
