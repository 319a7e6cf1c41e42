"""Reads for alerting: bucketed negative/total counts (the one place detection reads volume from:
the rollups for whole hours, the mentions for the rest), the window's negative mentions for the
explanation, and the rules to check."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Func, IntegerField, Q, QuerySet, Sum
from django.db.models.expressions import Combinable

from listening.alerts.detection import History, backtest, scales_for
from listening.alerts.models import AlertRule
from listening.analytics.models import Interval
from listening.analytics.vocabulary import Scope, floor_hour
from listening.classifiers.models import ClassifierReading, MentionLabel
from listening.mentions.models import Mention, Sentiment


@dataclass(frozen=True)
class BucketCounts:
    """Non-empty buckets only, oldest first. ``starts`` are Unix seconds; ``total`` counts enriched
    mentions (any sentiment), ``negative`` the negative ones among them."""

    starts: list[int]
    negative: list[int]
    total: list[int]


class _BucketIndex(Func):
    """floor((epoch(expression) - origin) / size) as an integer, on PostgreSQL and SQLite."""

    output_field = IntegerField()

    def __init__(self, expression: str | Combinable, *, origin: int, size: int) -> None:
        super().__init__(expression)
        self.origin, self.size = int(origin), int(size)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = f"FLOOR((EXTRACT(EPOCH FROM %(expressions)s) - {self.origin}) / {self.size})::bigint"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # '%%%%s' survives both the template's and the SQLite backend's %-formatting as strftime's %s.
        template = f"((CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) - {self.origin}) / {self.size})"
        return self.as_sql(compiler, connection, template=template, **extra)


def _through(scope: Scope, subject_id: int) -> QuerySet[Any]:
    """The subject's link rows (which carry ``published_at``)."""
    return scope.link._default_manager.filter(**{scope.fk: subject_id})


def bucketed_counts(
    scope: Scope, subject_id: int, *, start: datetime, end: datetime, bucket_seconds: int
) -> BucketCounts:
    """Negative and total mention counts of one brand or campaign in ``[start, end)``, per bucket
    ``[start + k * bucket_seconds, start + (k + 1) * bucket_seconds)``.

    Unenriched mentions (sentiment "") are not counted, so a window whose mentions are still being
    read by the model is judged on the ones already read. When buckets are whole hours starting on
    an hour (the history of an hourly or longer rule), the whole hours are read from the hourly
    rollups (kept in step with every enrichment, in its transaction) and only the part of the last
    hour before ``end`` from the mentions; otherwise (windows of minutes, the current window) the
    mentions are counted through the (subject, published_at) index of the link table.
    """
    if bucket_seconds <= 0 or end <= start:
        return BucketCounts([], [], [])
    origin = int(start.timestamp())
    parts = []
    raw_from = start
    if bucket_seconds % 3600 == 0 and start == floor_hour(start):
        raw_from = max(start, floor_hour(end))
        parts.append(_rollup_counts(scope, subject_id, start, raw_from, origin=origin, size=bucket_seconds))
    if raw_from < end:
        parts.append(_mention_counts(scope, subject_id, raw_from, end, origin=origin, size=bucket_seconds))
    counted: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for rows in parts:
        for bucket, negative, total in rows:
            counted[int(bucket)][0] += int(negative or 0)  # a SUM over no rows is NULL
            counted[int(bucket)][1] += int(total or 0)
    starts: list[int] = []
    negatives: list[int] = []
    totals: list[int] = []
    for bucket in sorted(counted):
        negative, total = counted[bucket]
        if total:
            starts.append(origin + bucket * bucket_seconds)
            negatives.append(negative)
            totals.append(total)
    return BucketCounts(starts, negatives, totals)


def _mention_counts(
    scope: Scope, subject_id: int, start: datetime, end: datetime, *, origin: int, size: int
) -> QuerySet[Any, tuple[Any, ...]]:
    """(bucket index, negative, enriched total) counting the mentions of ``[start, end)`` through the
    (subject, published_at) index of the link table."""
    return (
        _through(scope, subject_id)
        .filter(published_at__gte=start, published_at__lt=end)
        .annotate(index=_BucketIndex("published_at", origin=origin, size=size))
        .values_list("index")
        .annotate(
            negative=Count("id", filter=Q(mention__sentiment=Sentiment.NEGATIVE)),
            total=Count("id", filter=~Q(mention__sentiment="")),
        )
        .order_by()
    )


def _rollup_counts(
    scope: Scope, subject_id: int, start: datetime, end: datetime, *, origin: int, size: int
) -> QuerySet[Any, tuple[Any, ...]]:
    """(bucket index, negative, enriched total) from the hourly rollups of ``[start, end)`` (whole
    hours): an index-only scan of the rollup's (subject, interval, bucket) index."""
    rows: QuerySet[Any] = scope.rollup._default_manager.filter(**{scope.fk: subject_id})
    return (
        rows.filter(interval=Interval.HOUR, bucket__gte=start, bucket__lt=end)
        .annotate(index=_BucketIndex("bucket", origin=origin, size=size))
        .values_list("index")
        .annotate(
            negative=Sum("mention_count", filter=Q(sentiment=Sentiment.NEGATIVE)),
            total=Sum("mention_count", filter=~Q(sentiment="")),
        )
        .order_by()
    )


def negative_mentions(
    scope: Scope, subject_id: int, *, start: datetime, end: datetime, limit: int
) -> QuerySet[Mention]:
    """The negative mentions of a brand or campaign in ``[start, end)``, newest first."""
    ids = _through(scope, subject_id).filter(published_at__gte=start, published_at__lt=end)
    return (
        Mention.objects.filter(pk__in=ids.values("mention_id"), sentiment=Sentiment.NEGATIVE)
        .select_related("source")
        .only("id", "text", "clean_text", "url", "published_at", "sentiment", "source__name")
        .order_by("-published_at", "-id")[:limit]
    )


def negative_source_counts(
    scope: Scope, subject_id: int, *, start: datetime, end: datetime, limit: int = 10
) -> list[dict[str, Any]]:
    """``[{"name", "count"}]`` of the window's negative mentions by source, largest first."""
    rows = (
        _through(scope, subject_id)
        .filter(published_at__gte=start, published_at__lt=end, mention__sentiment=Sentiment.NEGATIVE)
        .values("mention__source__name")
        .annotate(count=Count("id"))
        .order_by("-count", "mention__source__name")[:limit]
    )
    return [{"name": r["mention__source__name"], "count": r["count"]} for r in rows]


def rule_scales(rule: AlertRule) -> tuple[int, ...]:
    """The window lengths (seconds) the rule is judged at: its own and the longer ``SCALES``."""
    return scales_for(rule.window_minutes * 60, rule.bucket_seconds)


# --- a rule on a custom classifier's label: the label's volume or share instead of the negative one


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


def counts_of(rule: AlertRule) -> Callable[..., BucketCounts]:
    """What ``rule`` counts, as :func:`bucketed_counts` takes it: the negative mentions among the
    enriched ones, or (a rule on a label) the label's mentions among those its classifier read."""
    if rule.classifier_id is not None:
        return functools.partial(label_bucketed_counts, rule.classifier_id, rule.label)
    return bucketed_counts


def rule_history(rule: AlertRule, start: datetime, end: datetime) -> History:
    """The rule's subject's counts in buckets of the rule's history from ``start`` (aligned down to
    a bucket) to ``end``, as detection reads them."""
    bucket = rule.bucket_seconds
    epoch = int(start.timestamp())
    aligned = datetime.fromtimestamp(epoch - epoch % bucket, tz=UTC)
    past = counts_of(rule)(*rule.subject, start=aligned, end=end, bucket_seconds=bucket)
    return History.build(past.starts, past.negative, past.total, bucket_seconds=bucket)


# A backtest replays at most this long a range (hourly checks: 744 of them).
MAX_BACKTEST = timedelta(days=31)


class BacktestRangeError(ValueError):
    """The requested backtest range cannot be replayed; the message says why."""


def rule_backtest(rule: AlertRule, start: datetime, end: datetime) -> dict[str, Any]:
    """The episodes ``rule`` (as it is configured now) would have fired over ``[start, end)``,
    replaying a check about every hour (every whole number of the rule's buckets closest above an
    hour) on the stored counts, each window against the ``ALERT_HISTORY_DAYS`` before it. Raises
    ``BacktestRangeError`` for an empty or too long range."""
    if start >= end:
        raise BacktestRangeError("'from' must be before 'to'.")
    if end - start > MAX_BACKTEST:
        raise BacktestRangeError(f"A backtest covers at most {MAX_BACKTEST.days} days.")
    scales = rule_scales(rule)
    bucket = rule.bucket_seconds
    history_start = start - timedelta(days=settings.ALERT_HISTORY_DAYS, seconds=max(scales))
    history = rule_history(rule, history_start, end)
    step = bucket * -(-3600 // bucket)  # whole buckets, about an hour apart
    params = rule.params()
    episodes = backtest(history, start, end, params, scales, step_seconds=step)
    return {
        "rule": rule.pk,
        "from": start,
        "to": end,
        "check_every_minutes": step // 60,
        "windows_minutes": [length // 60 for length in scales],
        "threshold": round(params.threshold, 3),
        "episodes": episodes,
    }


def active_rule_ids() -> list[int]:
    return list(AlertRule.objects.filter(is_active=True).order_by("id").values_list("id", flat=True))
