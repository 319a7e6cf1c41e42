"""``Mention.model_version``: the version whose enrichment the mention's stored labels come from.

A nullable column without a default, foreign-key constraint or index: PostgreSQL adds it without
rewriting, scanning or locking the mentions table for longer than the catalogue change. 0006 fills
it from each mention's newest enrichment.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("learning", "0003_reread"),
        ("mentions", "0004_mention_list_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="mention",
            name="model_version",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="learning.modelversion",
            ),
        ),
    ]
