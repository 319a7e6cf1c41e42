"""What an alert rule on a custom classifier's label counts: the label's mentions per bucket among
those the classifier read, and the samples an alert shows. The alerts app reads the classifiers'
rows here, so the classifiers app never reaches into alerts."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db.models import QuerySet

from listening.alerts.queries import BucketCounts
from listening.analytics.vocabulary import Scope
from listening.classifiers.models import ClassifierReading, MentionLabel
from listening.mentions.models import Mention


def _subject_filter(scope: Scope, subject_id: int) -> dict[str, int]:
    """A brand's or campaign's mentions, from a reading or label row (``mention__brand_mentions...``)."""
    return {f"mention__{scope.name}_mentions__{scope.fk}": subject_id}


def label_bucketed_counts(
    classifier_id: int,
    label: str,
    scope: Scope,
    subject_id: int,
    *,
    start: datetime,
    end: datetime,
    bucket_seconds: int,
) -> BucketCounts:
    """``listening.alerts.queries.bucketed_counts`` for one label: per bucket, the subject's mentions
    with ``label`` (in the ``negative`` slot) among those the classifier read (``total``), so an
    alert rule's detector judges a label's volume or share as it judges the negative ones."""
    if bucket_seconds <= 0 or end <= start:
        return BucketCounts([], [], [])
    origin = int(start.timestamp())
    rows = ClassifierReading.objects.filter(
        classifier_id=classifier_id,
        published_at__gte=start,
        published_at__lt=end,
        **_subject_filter(scope, subject_id),
    ).values_list("published_at", "labels")
    counted: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for published_at, labels in rows.iterator(chunk_size=5000):
        bucket = (int(published_at.timestamp()) - origin) // bucket_seconds
        counted[bucket][0] += int(label in labels)
        counted[bucket][1] += 1
    buckets = sorted(counted)
    return BucketCounts(
        [origin + b * bucket_seconds for b in buckets],
        [counted[b][0] for b in buckets],
        [counted[b][1] for b in buckets],
    )


def labelled_mentions(
    classifier_id: int,
    label: str,
    scope: Scope,
    subject_id: int,
    *,
    start: datetime,
    end: datetime,
    limit: int,
) -> QuerySet[Mention]:
    """The subject's mentions with ``label`` in ``[start, end)``, newest first (an alert's samples)."""
    ids = MentionLabel.objects.filter(
        classifier_id=classifier_id,
        label=label,
        published_at__gte=start,
        published_at__lt=end,
        **_subject_filter(scope, subject_id),
    ).values("mention_id")
    return (
        Mention.objects.filter(pk__in=ids)
        .select_related("source")
        .only("id", "text", "clean_text", "url", "published_at", "sentiment", "source__name")
        .order_by("-published_at", "-id")[:limit]
    )
