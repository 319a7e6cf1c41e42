"""An index for mention lists filtered by sentiment (``GET /api/v1/mentions/?sentiment=negative``).

The list is ordered by (published_at, id) within the organization; with a sentiment filter the
existing ``mention_org_time`` index reads every mention and drops the other sentiments on the heap.
This index walks only the wanted sentiment in order (benchmarks/api.py --explain). It belongs to the
mentions app's table: it is created here, on PostgreSQL only and CONCURRENTLY (no write lock on a
large table), because that app is owned elsewhere; the same index as a model ``Meta.indexes`` entry
would be ``models.Index(fields=["organization", "sentiment", "-published_at", "-id"],
name="mention_org_sentiment_time")``.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

NAME = "mention_org_sentiment_time"


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NAME} "
            "ON mentions_mention (organization_id, sentiment, published_at DESC, id DESC)"
        )


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("analytics", "0002_covering_indexes"), ("mentions", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
