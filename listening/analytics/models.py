"""Pre-aggregated views of mentions, so dashboards never count raw rows.

Five kinds of rollup, each kept for brands and for campaigns (the "subject"):

* ``*Rollup``: per (subject, interval hour|day, bucket, source kind, sentiment, language) the
  mention count and engagement sum. ``sentiment`` is ``""`` for mentions not enriched yet.
* ``*Totals``: per (subject, interval hour|day, bucket) the same counts over every source kind,
  sentiment and language (one row per bucket, the sentiments as columns), and the bucket's authors:
  their number and their set as sorted digests (``listening.analytics.authors``). Chart series read
  these rows as they are; unique authors over a range is the size of the union of its buckets' sets
  (exact: a sum of per-bucket counts would count a returning author twice).
* ``*VersionDay``: per (subject, UTC day, model version) the number of mentions whose stored
  labels that version produced: the provenance every analytics answer carries.
* ``*TermDay`` / ``*TermWeek``: per (subject, UTC day or ISO week starting Monday, term) the number
  of mentions containing the term (document frequency; terms are words and #hashtags, see
  ``listening.analytics.terms``). Top terms, emerging themes and leads/lags read whole weeks from
  the weekly rows and the days at the edges from the daily ones; a week row is the sum of its days.

All are derived data over the mentions that have been read: ``services.do_fold_readings`` folds
each enrichment batch in, ``services.do_update_rollups`` recomputes the buckets of given mentions
and ``manage.py rebuild_rollups`` rebuilds everything from the mentions.
"""

from __future__ import annotations

from django.db import models

from listening.brands.models import Brand, Campaign
from listening.tenancy.models import Organization


def derived_key(to: type[models.Model], *, db_index: bool = True) -> models.ForeignKey[models.Model]:
    """A rollup's foreign key to its organization, brand or campaign, without a database check.

    A fold writes about 17 rollup rows per mention read (most of them term rows), and PostgreSQL
    checks each foreign key of each row with a lookup of its own: measured on 3,333 mentions per
    round (2-core EPYC), the fold took 1.58 s without the checks against 2.10 s with them. The rows
    are derived (``rebuild_rollups`` writes them again from the mentions), a fold locks its brand or
    campaign rows before it writes (``services._lock_subjects``), and deleting an organization,
    brand or campaign through Django removes its rollups (``CASCADE`` is Django's, not the
    database's), so nothing points at a missing row.
    """
    return models.ForeignKey(
        to, on_delete=models.CASCADE, related_name="+", db_index=db_index, db_constraint=False
    )


class Interval(models.TextChoices):
    HOUR = "hour", "Hour"
    DAY = "day", "Day"


class RollupBase(models.Model):
    organization = derived_key(Organization)
    interval = models.CharField(max_length=4, choices=Interval.choices)
    bucket = models.DateTimeField()  # start of the hour / UTC day
    source_kind = models.CharField(max_length=16)
    sentiment = models.CharField(max_length=16, blank=True)  # "" = not enriched yet
    language = models.CharField(max_length=8)
    mention_count = models.PositiveIntegerField()
    engagement_sum = models.PositiveBigIntegerField()

    class Meta:
        abstract = True


class BrandRollup(RollupBase):
    # No index of its own: the unique constraint below starts with it.
    brand = derived_key(Brand, db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "interval", "bucket", "source_kind", "sentiment", "language"],
                name="uniq_brand_rollup",
            )
        ]

    def __str__(self) -> str:
        return f"brand {self.brand_id} {self.interval} {self.bucket:%Y-%m-%d %H}h"


class CampaignRollup(RollupBase):
    # No index of its own: the unique constraint below starts with it.
    campaign = derived_key(Campaign, db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "interval", "bucket", "source_kind", "sentiment", "language"],
                name="uniq_campaign_rollup",
            )
        ]

    def __str__(self) -> str:
        return f"campaign {self.campaign_id} {self.interval} {self.bucket:%Y-%m-%d %H}h"


class TotalsBase(models.Model):
    organization = derived_key(Organization)
    interval = models.CharField(max_length=4, choices=Interval.choices)
    bucket = models.DateTimeField()  # start of the hour / UTC day
    mention_count = models.PositiveIntegerField()
    engagement_sum = models.PositiveBigIntegerField()
    positive = models.PositiveIntegerField()
    neutral = models.PositiveIntegerField()
    negative = models.PositiveIntegerField()
    unscored = models.PositiveIntegerField()  # not enriched yet
    author_count = models.PositiveIntegerField()
    authors = models.BinaryField()  # listening.analytics.authors.pack of the bucket's author digests

    class Meta:
        abstract = True


class BrandTotals(TotalsBase):
    # No index of its own: the unique constraint below starts with it.
    brand = derived_key(Brand, db_index=False)

    class Meta:
        verbose_name_plural = "brand totals"
        constraints = [
            models.UniqueConstraint(fields=["brand", "interval", "bucket"], name="uniq_brand_totals")
        ]

    def __str__(self) -> str:
        return f"brand {self.brand_id} {self.interval} {self.bucket:%Y-%m-%d %H}h totals"


class CampaignTotals(TotalsBase):
    # No index of its own: the unique constraint below starts with it.
    campaign = derived_key(Campaign, db_index=False)

    class Meta:
        verbose_name_plural = "campaign totals"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "interval", "bucket"], name="uniq_campaign_totals")
        ]

    def __str__(self) -> str:
        return f"campaign {self.campaign_id} {self.interval} {self.bucket:%Y-%m-%d %H}h totals"


class TermCountBase(models.Model):
    organization = derived_key(Organization)
    bucket = models.DateTimeField()  # start of the UTC day (TermDay) or ISO week (TermWeek)
    term = models.CharField(max_length=64)
    mention_count = models.PositiveIntegerField()

    class Meta:
        abstract = True


class BrandTermDay(TermCountBase):
    # No index of its own: the unique constraint below starts with it.
    brand = derived_key(Brand, db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["brand", "bucket", "term"], name="uniq_brand_term_day")
        ]

    def __str__(self) -> str:
        return f"brand {self.brand_id} {self.bucket:%Y-%m-%d} {self.term}"


class CampaignTermDay(TermCountBase):
    # No index of its own: the unique constraint below starts with it.
    campaign = derived_key(Campaign, db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "bucket", "term"], name="uniq_campaign_term_day")
        ]

    def __str__(self) -> str:
        return f"campaign {self.campaign_id} {self.bucket:%Y-%m-%d} {self.term}"


class BrandTermWeek(TermCountBase):
    # No index of its own: the unique constraint below starts with it.
    brand = derived_key(Brand, db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["brand", "bucket", "term"], name="uniq_brand_term_week")
        ]

    def __str__(self) -> str:
        return f"brand {self.brand_id} week of {self.bucket:%Y-%m-%d} {self.term}"


class CampaignTermWeek(TermCountBase):
    # No index of its own: the unique constraint below starts with it.
    campaign = derived_key(Campaign, db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "bucket", "term"], name="uniq_campaign_term_week")
        ]

    def __str__(self) -> str:
        return f"campaign {self.campaign_id} week of {self.bucket:%Y-%m-%d} {self.term}"


class VersionDayBase(models.Model):
    """Mentions of a subject on one UTC day labelled by one model version (``Mention.model_version``;
    mentions not enriched yet have no row): which versions produced a range's numbers, and how far
    the history re-read after a promotion has got (``listening.analytics.provenance``)."""

    organization = derived_key(Organization)
    bucket = models.DateTimeField()  # start of the UTC day
    model_version = models.ForeignKey(
        "learning.ModelVersion", on_delete=models.CASCADE, related_name="%(class)s_rows", db_index=False
    )
    mention_count = models.PositiveIntegerField()

    class Meta:
        abstract = True


class BrandVersionDay(VersionDayBase):
    # No index of its own: the unique constraint below starts with it.
    brand = derived_key(Brand, db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "bucket", "model_version"], name="uniq_brand_version_day"
            )
        ]

    def __str__(self) -> str:
        return f"brand {self.brand_id} {self.bucket:%Y-%m-%d} version {self.model_version_id}"


class CampaignVersionDay(VersionDayBase):
    # No index of its own: the unique constraint below starts with it.
    campaign = derived_key(Campaign, db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "bucket", "model_version"], name="uniq_campaign_version_day"
            )
        ]

    def __str__(self) -> str:
        return f"campaign {self.campaign_id} {self.bucket:%Y-%m-%d} version {self.model_version_id}"


class AffinityRun(models.Model):
    """One nightly build of a brand's audience clusters. The endpoint serves the latest finished run;
    older runs are kept as history (``version`` counts up per brand)."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="affinity_runs")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    window_starts_at = models.DateTimeField()
    window_ends_at = models.DateTimeField()
    author_count = models.PositiveIntegerField(default=0)
    params = models.JSONField(default=dict)  # k, seed, model version, limits: what makes it reproducible
    message = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["brand", "version"], name="uniq_affinity_run_version")]
        indexes = [models.Index(fields=["brand", "status", "-version"], name="affinity_run_latest")]

    def __str__(self) -> str:
        return f"brand {self.brand_id} audiences v{self.version} ({self.status})"


class AffinityCluster(models.Model):
    run = models.ForeignKey(AffinityRun, on_delete=models.CASCADE, related_name="clusters")
    index = models.PositiveSmallIntegerField()
    size = models.PositiveIntegerField()
    label = models.CharField(max_length=200)
    terms = models.JSONField(default=list)  # c-TF-IDF terms, best first
    interests = models.JSONField(default=dict)  # {"hashtags": [...], "brands": [...], "terms": [...]}
    sentiment = models.JSONField(default=dict)  # towards the brand: counts and net
    overlap = models.JSONField(default=list)  # [{"brand": id, "name": ..., "share": 0..1}]

    class Meta:
        ordering = ["run", "-size", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="uniq_affinity_cluster")]

    def __str__(self) -> str:
        return f"run {self.run_id} cluster {self.index}: {self.label}"
