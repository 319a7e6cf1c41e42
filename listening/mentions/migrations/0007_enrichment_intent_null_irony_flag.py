"""``Enrichment.intent`` may be null (no intent: the head abstained or was unsure, or the text is not
one that shows an intent), and ``Enrichment.irony`` stores the irony flag at the version's threshold.

Catalogue-only on PostgreSQL whatever the table's size: ``ADD COLUMN ... NULL`` with no default
rewrites nothing, ``DROP NOT NULL`` scans nothing, and help texts are not in the database. Existing
rows keep their values (their irony flag stays null until they are re-read).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('mentions', '0006_backfill_mention_model_version'),
    ]

    operations = [
        migrations.AddField(
            model_name='enrichment',
            name='irony',
            field=models.BooleanField(blank=True, help_text="irony_prob at or above the model version's irony threshold; null on readings from before versions had one.", null=True),
        ),
        migrations.AlterField(
            model_name='enrichment',
            name='intent',
            field=models.CharField(blank=True, help_text='The support intent, or null for no intent: the model abstained or was below its confidence threshold, or the text is neither a support transcript, a question nor a complaint.', max_length=64, null=True),
        ),
        migrations.AlterField(
            model_name='enrichment',
            name='intent_prob',
            field=models.FloatField(blank=True, help_text='Probability of intent; null with it.', null=True),
        ),
        migrations.AlterField(
            model_name='enrichment',
            name='irony_prob',
            field=models.FloatField(blank=True, help_text='Probability that the text is ironic.', null=True),
        ),
    ]
