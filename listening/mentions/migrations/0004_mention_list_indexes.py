"""Indexes for a brand's (with or without a sentiment filter) and a campaign's mention list, newest
first: each ends in the mention id, so a page's ids are an index-only scan.

Built CONCURRENTLY on PostgreSQL (no write lock on a large table; hence ``atomic = False``), plainly
on SQLite. ``(brand|campaign, published_at, mention)`` replaces ``(brand|campaign, published_at)``:
every reader of the old ones (time ranges of a subject) reads the new ones as well.
"""

from django.db import migrations, models

from listening.migration_ops import AddIndexConcurrentlyOnPostgres, RemoveIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("mentions", "0003_backfill_brandmention_sentiment")]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="brandmention",
            index=models.Index(fields=["brand", "published_at", "mention"], name="brandmention_time_id"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="brandmention",
            index=models.Index(
                fields=["brand", "sentiment", "published_at", "mention"], name="brandmention_sentiment_time"
            ),
        ),
        RemoveIndexConcurrentlyOnPostgres(model_name="brandmention", name="brandmention_time"),
        AddIndexConcurrentlyOnPostgres(
            model_name="campaignmention",
            index=models.Index(fields=["campaign", "published_at", "mention"], name="campaignmention_time_id"),
        ),
        RemoveIndexConcurrentlyOnPostgres(model_name="campaignmention", name="campaignmention_time"),
    ]
