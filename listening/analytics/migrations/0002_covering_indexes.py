"""Covering indexes that let dashboard reads be index-only scans (PostgreSQL only).

Range reads of rollups select (subject, interval, bucket) and sum counts; term reads select
(subject, bucket) and sum counts per term. With the summed columns INCLUDEd, PostgreSQL answers
from the index alone (see benchmarks/api.py --explain). SQLite has no INCLUDE and does not need them,
so they are created only on PostgreSQL, outside Django's model state.

Author keys are compared bytewise (COLLATE "C"): unique-author counts sort them, and a locale-aware
comparison made ``COUNT(DISTINCT author_key)`` over a month of five brands about twice as slow. The
keys are identifiers, never shown sorted to people, so linguistic order buys nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

INDEXES = [
    ("rollup_brand_read", "analytics_brandrollup", "(brand_id, interval, bucket) INCLUDE (sentiment, mention_count, engagement_sum)"),
    ("rollup_campaign_read", "analytics_campaignrollup", "(campaign_id, interval, bucket) INCLUDE (sentiment, mention_count, engagement_sum)"),
    ("termday_brand_read", "analytics_brandtermday", "(brand_id, bucket) INCLUDE (term, mention_count)"),
    ("termday_campaign_read", "analytics_campaigntermday", "(campaign_id, bucket) INCLUDE (term, mention_count)"),
]


BYTEWISE = ["analytics_brandauthorhour", "analytics_campaignauthorhour"]


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in BYTEWISE:
        schema_editor.execute(f'ALTER TABLE {table} ALTER COLUMN author_key TYPE varchar(255) COLLATE "C"')
    for name, table, columns in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {columns}")


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _columns in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    for table in BYTEWISE:
        schema_editor.execute(f'ALTER TABLE {table} ALTER COLUMN author_key TYPE varchar(255) COLLATE "default"')


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
