"""Per-day mention counts by model version (``*VersionDay``): the provenance of analytics answers.

Filled from the links and the mentions' ``model_version`` (mentions 0006), one aggregate per kind of
subject; ``services.recompute_subject_days`` keeps them from here on and ``manage.py
rebuild_rollups`` rebuilds them. Going backwards drops the tables.
"""

from datetime import UTC
from typing import Any

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import TruncDay


def backfill(apps: Any, schema_editor: Any) -> None:
    for subject in ("Brand", "Campaign"):
        Link = apps.get_model("mentions", f"{subject}Mention")
        VersionDay = apps.get_model("analytics", f"{subject}VersionDay")
        fk = f"{subject.lower()}_id"
        counts = (
            Link.objects.filter(mention__model_version_id__isnull=False)
            .annotate(day=TruncDay("published_at", tzinfo=UTC))
            .values_list("organization_id", fk, "day", "mention__model_version_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        VersionDay.objects.bulk_create(
            (
                VersionDay(
                    organization_id=org,
                    **{fk: subject_id},
                    bucket=day,
                    model_version_id=version,
                    mention_count=n,
                )
                for org, subject_id, day, version, n in counts.iterator(chunk_size=10_000)
            ),
            batch_size=2_000,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0004_totals_and_term_weeks"),
        ("brands", "0001_initial"),
        ("learning", "0002_feedback_preferences_cycles"),
        ("tenancy", "0001_initial"),
        ("mentions", "0006_backfill_mention_model_version"),
    ]

    operations = [
        migrations.CreateModel(
            name="BrandVersionDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("bucket", models.DateTimeField()),
                ("mention_count", models.PositiveIntegerField()),
                (
                    "brand",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="brands.brand",
                    ),
                ),
                (
                    "model_version",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="%(class)s_rows",
                        to="learning.modelversion",
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenancy.organization",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("brand", "bucket", "model_version"), name="uniq_brand_version_day"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="CampaignVersionDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("bucket", models.DateTimeField()),
                ("mention_count", models.PositiveIntegerField()),
                (
                    "campaign",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="brands.campaign",
                    ),
                ),
                (
                    "model_version",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="%(class)s_rows",
                        to="learning.modelversion",
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenancy.organization",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("campaign", "bucket", "model_version"), name="uniq_campaign_version_day"
                    )
                ],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
