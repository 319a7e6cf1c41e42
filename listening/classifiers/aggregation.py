"""Label mix per brand: each custom label's share of a brand's labelled mentions, its series, and
which brand leads or lags on each label.

Counts come from ``MentionLabel`` (one row per served label) and ``ClassifierReading`` (one per
labelled mention, the denominator), joined to the brand links, over a bucket-aligned range
(``listening.analytics.ranges.resolve_range``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db.models import Count, F
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from listening.analytics.answers import BrandLabelMix, LabelLead, LabelMix
from listening.analytics.models import Interval
from listening.analytics.ranges import RangeError, resolve_range
from listening.brands.models import Brand
from listening.classifiers.models import Classifier, ClassifierReading, MentionLabel

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
