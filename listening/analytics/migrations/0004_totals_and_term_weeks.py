"""Per-bucket totals with author sets, and weekly term counts; the author-hour rows go.

``*Totals`` hold one row per (subject, interval, bucket): the sentiments as columns and the bucket's
authors as sorted digests (``listening.analytics.authors``), so chart series read stored rows and
unique authors over a range is a union of a few blobs instead of ``COUNT(DISTINCT)`` over one row
per author and hour. ``*TermWeek`` rows are the sums of their ISO week's ``*TermDay`` rows, so a
30-day term read takes four rows per term where it took up to thirty.

The backfill derives both from what is already stored (the detailed rollups, the author-hour rows
and the day term rows), one subject at a time, so no mention is read again. Going backwards drops
the new tables and recreates empty author-hour tables: run ``manage.py rebuild_rollups`` after.
"""

from collections import defaultdict
from datetime import UTC
from typing import Any

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q, Sum
from django.db.models.functions import TruncWeek

from listening.analytics.authors import digest, pack

SENTIMENTS = ("positive", "neutral", "negative")


def _backfill_totals(apps: Any, subject: str) -> None:
    Owner = apps.get_model("brands", subject.capitalize())
    Rollup = apps.get_model("analytics", f"{subject}Rollup")
    AuthorHour = apps.get_model("analytics", f"{subject}AuthorHour")
    Totals = apps.get_model("analytics", f"{subject}Totals")
    fk = f"{subject.lower()}_id"
    by_sentiment = {name: Sum("mention_count", filter=Q(sentiment=name)) for name in SENTIMENTS}
    for subject_id, organization_id in Owner.objects.order_by("pk").values_list("pk", "organization_id"):
        hours: dict[Any, set[bytes]] = defaultdict(set)
        days: dict[Any, set[bytes]] = defaultdict(set)
        keys = AuthorHour.objects.filter(**{fk: subject_id}).values_list("bucket", "author_key")
        for bucket, key in keys.iterator(chunk_size=10_000):
            found = digest(key)
            hours[bucket].add(found)
            days[bucket.astimezone(UTC).replace(hour=0)].add(found)
        sets = {"hour": hours, "day": days}
        rows = (
            Rollup.objects.filter(**{fk: subject_id})
            .values_list("interval", "bucket")
            .annotate(
                volume=Sum("mention_count"), engagement=Sum("engagement_sum"), unscored=Sum(
                    "mention_count", filter=Q(sentiment="")
                ), **by_sentiment
            )
            .order_by()
        )
        Totals.objects.bulk_create(
            (
                Totals(
                    organization_id=organization_id,
                    **{fk: subject_id},
                    interval=interval,
                    bucket=bucket,
                    mention_count=volume,
                    engagement_sum=engagement,
                    unscored=unscored or 0,
                    positive=positive or 0,
                    neutral=neutral or 0,
                    negative=negative or 0,
                    author_count=len(sets[interval][bucket]),
                    authors=pack(sets[interval][bucket]),
                )
                for interval, bucket, volume, engagement, unscored, positive, neutral, negative in rows
            ),
            batch_size=500,
        )


def _backfill_term_weeks(apps: Any, subject: str) -> None:
    Owner = apps.get_model("brands", subject.capitalize())
    TermDay = apps.get_model("analytics", f"{subject}TermDay")
    TermWeek = apps.get_model("analytics", f"{subject}TermWeek")
    fk = f"{subject.lower()}_id"
    for subject_id, organization_id in Owner.objects.order_by("pk").values_list("pk", "organization_id"):
        rows = (
            TermDay.objects.filter(**{fk: subject_id})
            .annotate(week=TruncWeek("bucket", tzinfo=UTC))
            .values_list("week", "term")
            .annotate(n=Sum("mention_count"))
            .order_by()
        )
        TermWeek.objects.bulk_create(
            (
                TermWeek(organization_id=organization_id, **{fk: subject_id}, bucket=week, term=term, mention_count=n)
                for week, term, n in rows.iterator(chunk_size=10_000)
            ),
            batch_size=2_000,
        )


def backfill(apps: Any, schema_editor: Any) -> None:
    for subject in ("Brand", "Campaign"):
        _backfill_totals(apps, subject)
        _backfill_term_weeks(apps, subject)


# Reads of these tables select (subject, interval, bucket) or (subject, bucket) and the counts: with
# the counts INCLUDEd they are index-only scans (PostgreSQL only, as in 0002_covering_indexes). The
# author sets are not included: they are read only for the few buckets of a unique-author count.
INDEXES = [
    (
        "totals_brand_read",
        "analytics_brandtotals",
        "(brand_id, interval, bucket) INCLUDE "
        "(mention_count, positive, neutral, negative, unscored, engagement_sum, author_count)",
    ),
    (
        "totals_campaign_read",
        "analytics_campaigntotals",
        "(campaign_id, interval, bucket) INCLUDE "
        "(mention_count, positive, neutral, negative, unscored, engagement_sum, author_count)",
    ),
    ("termweek_brand_read", "analytics_brandtermweek", "(brand_id, bucket) INCLUDE (term, mention_count)"),
    ("termweek_campaign_read", "analytics_campaigntermweek", "(campaign_id, bucket) INCLUDE (term, mention_count)"),
]


def create_covering_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for name, table, columns in INDEXES:
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {columns}")


def drop_covering_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for name, _table, _columns in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0003_mention_sentiment_index'),
        ('brands', '0001_initial'),
        ('tenancy', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='BrandTermWeek',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('bucket', models.DateTimeField()),
                ('term', models.CharField(max_length=64)),
                ('mention_count', models.PositiveIntegerField()),
                ('brand', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='brands.brand')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.organization')),
            ],
        ),
        migrations.CreateModel(
            name='BrandTotals',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('interval', models.CharField(choices=[('hour', 'Hour'), ('day', 'Day')], max_length=4)),
                ('bucket', models.DateTimeField()),
                ('mention_count', models.PositiveIntegerField()),
                ('engagement_sum', models.PositiveBigIntegerField()),
                ('positive', models.PositiveIntegerField()),
                ('neutral', models.PositiveIntegerField()),
                ('negative', models.PositiveIntegerField()),
                ('unscored', models.PositiveIntegerField()),
                ('author_count', models.PositiveIntegerField()),
                ('authors', models.BinaryField()),
                ('brand', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='brands.brand')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.organization')),
            ],
            options={
                'verbose_name_plural': 'brand totals',
            },
        ),
        migrations.CreateModel(
            name='CampaignTermWeek',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('bucket', models.DateTimeField()),
                ('term', models.CharField(max_length=64)),
                ('mention_count', models.PositiveIntegerField()),
                ('campaign', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='brands.campaign')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.organization')),
            ],
        ),
        migrations.CreateModel(
            name='CampaignTotals',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('interval', models.CharField(choices=[('hour', 'Hour'), ('day', 'Day')], max_length=4)),
                ('bucket', models.DateTimeField()),
                ('mention_count', models.PositiveIntegerField()),
                ('engagement_sum', models.PositiveBigIntegerField()),
                ('positive', models.PositiveIntegerField()),
                ('neutral', models.PositiveIntegerField()),
                ('negative', models.PositiveIntegerField()),
                ('unscored', models.PositiveIntegerField()),
                ('author_count', models.PositiveIntegerField()),
                ('authors', models.BinaryField()),
                ('campaign', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='brands.campaign')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.organization')),
            ],
            options={
                'verbose_name_plural': 'campaign totals',
            },
        ),
        migrations.AddConstraint(
            model_name='brandtermweek',
            constraint=models.UniqueConstraint(fields=('brand', 'bucket', 'term'), name='uniq_brand_term_week'),
        ),
        migrations.AddConstraint(
            model_name='brandtotals',
            constraint=models.UniqueConstraint(fields=('brand', 'interval', 'bucket'), name='uniq_brand_totals'),
        ),
        migrations.AddConstraint(
            model_name='campaigntermweek',
            constraint=models.UniqueConstraint(fields=('campaign', 'bucket', 'term'), name='uniq_campaign_term_week'),
        ),
        migrations.AddConstraint(
            model_name='campaigntotals',
            constraint=models.UniqueConstraint(fields=('campaign', 'interval', 'bucket'), name='uniq_campaign_totals'),
        ),
            migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.DeleteModel(
            name='BrandAuthorHour',
        ),
        migrations.DeleteModel(
            name='CampaignAuthorHour',
        ),
        migrations.RunPython(create_covering_indexes, drop_covering_indexes),
    ]
