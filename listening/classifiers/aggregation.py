"""Label mix per brand: each custom label's share of a brand's labelled mentions, its series, and
which brand leads or lags on each label.

Counts come from ``MentionLabel`` (one row per served label) and ``ClassifierReading`` (one per
labelled mention, the denominator), joined to the brand links, over a bucket-aligned range
(``listening.analytics.queries.resolve_range``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db.models import Count, F, QuerySet
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from listening.alerts.queries import BucketCounts
from listening.analytics.models import Interval
from listening.analytics.queries import RangeError, resolve_range
from listening.analytics.vocabulary import Scope
from listening.brands.models import Brand
from listening.classifiers.answers import BrandLabelMix, LabelLead, LabelMix
from listening.classifiers.models import Classifier, ClassifierReading, MentionLabel
from listening.mentions.models import Mention

DEFAULT_DAYS = 30
# The brand of a (reading or label) row, through the mention's brand links.
BRAND = "mention__brand_mentions__brand_id"


class LabelMixError(ValueError):
    """A mix that cannot be answered (a 400 for API callers)."""


def _share(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def label_mix(
    classifier: Classifier,
    brands: Sequence[Brand],
    interval: str = Interval.DAY,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    campaign_id: int | None = None,
) -> LabelMix:
    """The answer of ``GET /classifiers/{id}/mix/`` (brands of the classifier's organization);
    with ``campaign_id``, only that campaign's mentions count."""
    now = timezone.now()
    try:
        window = resolve_range(
            interval, start, end, default_start=now - timedelta(days=DEFAULT_DAYS), default_end=now
        )
    except RangeError as exc:
        raise LabelMixError(str(exc)) from exc
    labels = list(classifier.labels.values_list("name", flat=True))
    ids = [brand.pk for brand in brands]
    trunc = TruncHour if window.interval == Interval.HOUR else TruncDay
    only: dict[str, int] = (
        {} if campaign_id is None else {"mention__campaign_mentions__campaign_id": campaign_id}
    )
    readings = ClassifierReading.objects.filter(
        classifier=classifier,
        published_at__gte=window.start,
        published_at__lt=window.end,
        mention__brand_mentions__brand_id__in=ids,
        **only,
    )
    totals: dict[tuple[int, datetime], int] = {
        (row["brand"], row["bucket"]): row["n"]
        for row in readings.annotate(bucket=trunc("published_at"))
        .values("bucket", brand=F(BRAND))
        .annotate(n=Count("mention_id", distinct=True))
    }
    counts: dict[tuple[int, str, datetime], int] = {
        (row["brand"], row["label"], row["bucket"]): row["n"]
        for row in MentionLabel.objects.filter(
            classifier=classifier,
            published_at__gte=window.start,
            published_at__lt=window.end,
            mention__brand_mentions__brand_id__in=ids,
            **only,
        )
        .annotate(bucket=trunc("published_at"))
        .values("label", "bucket", brand=F(BRAND))
        .annotate(n=Count("mention_id", distinct=True))
    }
    brand_total: dict[int, int] = defaultdict(int)
    for (brand_id, _), n in totals.items():
        brand_total[brand_id] += n
    brand_label: dict[tuple[int, str], int] = defaultdict(int)
    for (brand_id, label, _), n in counts.items():
        brand_label[(brand_id, label)] += n
    buckets = sorted({bucket for _, bucket in totals})
    per_brand: list[BrandLabelMix] = []
    for brand in brands:
        total = brand_total[brand.pk]
        per_brand.append(
            {
                "brand": brand.pk,
                "name": brand.name,
                "labelled": total,
                "labels": {
                    label: {
                        "mentions": brand_label[(brand.pk, label)],
                        "share": _share(brand_label[(brand.pk, label)], total),
                    }
                    for label in labels
                },
                "series": [
                    {
                        "bucket": bucket.isoformat(),
                        "labelled": totals.get((brand.pk, bucket), 0),
                        "labels": {label: counts.get((brand.pk, label, bucket), 0) for label in labels},
                    }
                    for bucket in buckets
                ],
            }
        )
    leads: list[LabelLead] = []
    for label in labels:
        shares = [
            (share, row["brand"]) for row in per_brand if (share := row["labels"][label]["share"]) is not None
        ]
        if not shares:
            continue
        best_share, leader = max(shares)
        leads.append(
            {
                "label": label,
                "leader": leader,
                "share": best_share,
                "lags": [
                    {"brand": b, "behind": round(best_share - s, 4)}
                    for s, b in sorted(shares, reverse=True)
                    if b != leader
                ],
            }
        )
    return {
        "classifier": classifier.pk,
        "name": classifier.name,
        "labels": labels,
        "range": {
            "interval": window.interval.value,
            "from": window.start.isoformat(),
            "to": window.end.isoformat(),
        },
        "brands": per_brand,
        "leads": leads,
    }


# --- alert rules on a label ---------------------------------------------------------------------


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


def label_mentions(
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
