"""The ledger's card and period keys without database constraints, and no index of the
card key alone (the (card, kind, at) index serves reads by card): see LedgerEntry."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cards', '0003_pause'),
    ]

    operations = [
        migrations.AlterField(
            model_name='ledgerentry',
            name='card',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='ledger', to='cards.card'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='period',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ledger', to='cards.period'),
        ),
    ]
