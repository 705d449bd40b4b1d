"""Usage records kept as sent; the ledger takes a card's usage per rating run.

A record's claim was its own first ledger row, so the ledger grew by one row (with
four indexes) per record and every record updated its card and period. Now a record
is claimed by a row of its own (unique per source and record id) and rated later, in
id order, by rating runs: a run writes one usage row per card and quarter of an hour
(reference ``rating:<run>:<card>``) and updates each card and period once, however
many records it rates. The RatedRecord view over the ledger goes.

Records rated before are copied in from the ledger (their ``usage:<source>:<record
id>`` rows, read with the source ending at the first colon), so a record sent again
after the upgrade still counts once; the cursor starts after them.
"""

from datetime import UTC, datetime, timedelta

import django.db.models.deletion
from django.db import migrations, models

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

VIEW = """
CREATE VIEW usage_ratedrecord AS
SELECT reference, MIN(card_id) AS card_id, -SUM(bytes) AS bytes, MIN(at) AS at,
       MIN(created_at) AS rated_at
FROM cards_ledgerentry
WHERE kind IN ('debit_usage', 'overage') AND reference LIKE 'usage:%'
GROUP BY reference
"""

BATCH = 5000


def copy_rated_records(apps, schema_editor):
    Source = apps.get_model("usage", "Source")
    Record = apps.get_model("usage", "Record")
    RatingCursor = apps.get_model("usage", "RatingCursor")
    sources: dict[str, int] = {}
    batch = []
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT reference, card_id, bytes, at FROM usage_ratedrecord "
                       "ORDER BY at, reference")
        for reference, card_id, bytes_, at in cursor.fetchall():
            source, _colon, record_id = reference.removeprefix("usage:").partition(":")
            if not source or not record_id or len(source) > 64 or len(record_id) > 128:
                continue
            if source not in sources:
                sources[source] = Source.objects.get_or_create(name=source)[0].pk
            if isinstance(at, str):  # SQLite gives its naive UTC text
                at = datetime.fromisoformat(at)
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
            batch.append(Record(source_id=sources[source], record_id=record_id,
                                card_id=card_id, bytes=bytes_,
                                at_us=(at - EPOCH) // timedelta(microseconds=1)))
            if len(batch) == BATCH:
                Record.objects.bulk_create(batch, ignore_conflicts=True)
                batch = []
    Record.objects.bulk_create(batch, ignore_conflicts=True)
    last = Record.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    RatingCursor.objects.update_or_create(pk=1, defaults={"through": last})


def bytewise(name):
    def run(apps, schema_editor):
        # A record id is an identifier, never text to sort for people (see cards 0005).
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute("ALTER TABLE usage_record ALTER COLUMN record_id "
                                  f"TYPE varchar(128) COLLATE {name}")
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("cards", "0005_ledger_reference_bytewise"),
        ("usage", "0005_more_room_for_in_place_updates"),
    ]

    operations = [
        migrations.CreateModel(
            name="RatingCursor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("through", models.BigIntegerField(default=0,
                                                   verbose_name="rated through record")),
            ],
            options={"verbose_name": "rating cursor", "verbose_name_plural": "rating cursor"},
        ),
        migrations.CreateModel(
            name="RatingRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("after", models.BigIntegerField(verbose_name="after record")),
                ("through", models.BigIntegerField(verbose_name="through record")),
                ("records", models.PositiveIntegerField(verbose_name="records")),
                ("cards", models.PositiveIntegerField(verbose_name="cards")),
                ("rated_at", models.DateTimeField(verbose_name="rated at")),
            ],
            options={"verbose_name": "rating run", "verbose_name_plural": "rating runs",
                     "ordering": ["id"]},
        ),
        migrations.CreateModel(
            name="Source",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("name", models.CharField(max_length=64, unique=True, verbose_name="name")),
            ],
            options={"verbose_name": "usage source", "verbose_name_plural": "usage sources",
                     "ordering": ["name"]},
        ),
        migrations.CreateModel(
            name="Record",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("record_id", models.CharField(max_length=128, verbose_name="record id")),
                ("bytes", models.BigIntegerField(verbose_name="bytes")),
                ("at_us", models.BigIntegerField(
                    help_text="When the usage ended, in microseconds since 1970-01-01 00:00 "
                              "UTC, as sent.", verbose_name="ended at (µs)")),
                ("card", models.ForeignKey(db_constraint=False, db_index=False,
                                           on_delete=django.db.models.deletion.DO_NOTHING,
                                           related_name="+", to="cards.card",
                                           verbose_name="card")),
                ("source", models.ForeignKey(db_constraint=False, db_index=False,
                                             on_delete=django.db.models.deletion.PROTECT,
                                             related_name="+", to="usage.source",
                                             verbose_name="source")),
            ],
            options={"verbose_name": "usage record", "verbose_name_plural": "usage records",
                     "ordering": ["id"]},
        ),
        migrations.RunPython(bytewise('"C"'), bytewise('"default"')),
        migrations.AddConstraint(
            model_name="record",
            constraint=models.UniqueConstraint(fields=("source", "record_id"),
                                               name="usage_record_once"),
        ),
        migrations.RunPython(copy_rated_records, migrations.RunPython.noop),
        migrations.RunSQL("DROP VIEW usage_ratedrecord", VIEW),
        migrations.DeleteModel(name="RatedRecord"),
    ]
