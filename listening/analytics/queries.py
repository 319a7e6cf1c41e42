"""Reads of the analytics app: campaign metrics and brand comparisons, from rollups only.

Ranges are half-open ``[from, to)`` and aligned to whole buckets of the chosen interval (the
answer states the range it used). Term-based answers (top terms, themes) are kept per UTC day,
so they cover the days the range touches.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from listening.analytics import authors as author_sets
from listening.analytics.models import Interval
from listening.analytics.provenance import model_provenance
from listening.analytics.ranges import Range, ceil_bucket, resolve_range
from listening.analytics.terms import folded_words
from listening.analytics.themes import EXAMPLE_SCAN, add_examples, filter_for
from listening.analytics.vocabulary import (
    BRAND_SCOPE,
    CAMPAIGN_SCOPE,
    DAY,
    WEEK,
    Scope,
    floor_day,
    floor_hour,
    floor_week,
    net_sentiment,
)
from listening.brands.models import Brand, Campaign
from listening.mentions.models import Sentiment

DEFAULT_BASELINE = timedelta(days=30)
TOP_TERMS = 15
TOP_THEMES = 10
# A term must appear in at least this many mentions of a period to count as a theme.
MIN_THEME_SUPPORT = 2
MAX_COMPARED_BRANDS = 20


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or base == 0:
        return None
    return round(value / base, 4)


# --- rollup readers ---------------------------------------------------------------------------


def _totals(series: dict[int, dict[str, list[Any]]], authors: dict[int, int]) -> dict[int, dict[str, Any]]:
    """Totals per subject over the range, added up from its series (which covers the same range
    bucket by bucket, so no statement of its own): volume, engagement, unique authors, sentiment
    split and net sentiment."""
    out = {}
    for sid, columns in series.items():
        summary = _empty_summary()
        summary["volume"] = sum(columns["volume"])
        summary["engagement"] = sum(columns["engagement"])
        # Null, not the volume, where no mention's author is known (reviews, imports without one).
        summary["unique_authors"] = authors.get(sid, 0) or (None if summary["volume"] else 0)
        split = summary["sentiment"]
        for name in split:
            split[name] = sum(columns[name])
        summary["net_sentiment"] = net_sentiment(split["positive"], split["negative"])
        out[sid] = summary
    return out


def _coarsest_buckets(rng: Range) -> list[tuple[Interval, datetime, datetime]]:
    """The rollup rows that add up to the range with the fewest rows: whole UTC days from the daily
    rollup, the hours before the first and after the last whole day from the hourly one. One
    (interval, start, end) per contiguous run of buckets, each a single range of the (subject,
    interval, bucket) index: read apart (``_period_sums``), each is an index-only scan, where their
    OR was a bitmap heap scan that PostgreSQL then costed high enough to start parallel workers for."""
    first_day, last_day = ceil_bucket(Interval.DAY, rng.start), floor_day(rng.end)
    if first_day >= last_day:  # no whole day inside: hours only
        return [(Interval.HOUR, rng.start, rng.end)]
    spans = [(Interval.DAY, first_day, last_day)]
    if rng.start < first_day:
        spans.append((Interval.HOUR, rng.start, first_day))
    if last_day < rng.end:
        spans.append((Interval.HOUR, last_day, rng.end))
    return spans


def _unique_authors(scope: Scope, subject_ids: list[int], start: datetime, end: datetime) -> dict[int, int]:
    """Distinct authors per subject over ``[start, end)`` (whole hours), exact: the union of the
    author sets of the fewest buckets that cover the range (whole days, then the edge hours)."""
    parts = [
        _Part("authors", scope, tuple(subject_ids), span_start, span_end, interval)
        for interval, span_start, span_end in _coarsest_buckets(_hours(start, end))
    ]
    blobs: dict[int, list[bytes]] = {sid: [] for sid in subject_ids}
    for _tag, sid, blob in _union_all(parts, ("authors",)):
        blobs[sid].append(bytes(blob))
    return {sid: author_sets.count_union(found) for sid, found in blobs.items()}


def _empty_summary() -> dict[str, Any]:
    return {
        "volume": 0,
        "engagement": 0,
        "unique_authors": 0,
        "sentiment": {
            Sentiment.POSITIVE.value: 0,
            Sentiment.NEUTRAL.value: 0,
            Sentiment.NEGATIVE.value: 0,
            "unscored": 0,
        },
        "net_sentiment": None,
    }


SERIES_FIELDS = ("volume", "positive", "neutral", "negative", "unscored", "engagement", "unique_authors")
# The ``*Totals`` columns of SERIES_FIELDS, in the same order.
_TOTALS_COLUMNS = (
    "mention_count",
    "positive",
    "neutral",
    "negative",
    "unscored",
    "engagement_sum",
    "author_count",
)


def _series(scope: Scope, subject_ids: list[int], rng: Range) -> dict[int, dict[str, list[Any]]]:
    """Columns of one value per bucket of the range (zeros included, so charts need no gap filling).

    Columnar (``{"volume": [...], "net_sentiment": [...]}``, aligned with ``Range.buckets()``) because
    a month of hours for several brands as one object per point is megabytes of repeated keys.
    ``unique_authors`` is per bucket: the same author on two days counts on both.
    """
    import numpy as np

    buckets = rng.buckets()
    index = {bucket: i for i, bucket in enumerate(buckets)}
    # A raw cursor gives PostgreSQL's buckets aware, SQLite's naive (both UTC): either finds its place.
    index.update({bucket.replace(tzinfo=None): i for bucket, i in index.items()})
    row_of = {sid: i for i, sid in enumerate(subject_ids)}
    # fields x subjects x buckets, zeros where no row: filled by one scatter, because a Python
    # assignment per value was the largest cost of an hourly comparison after its statements.
    grid = np.zeros((len(SERIES_FIELDS), len(subject_ids), len(buckets)), dtype=np.int64)
    # One stored row per (subject, bucket) with the sentiments as columns: a month of hours for five
    # brands is 3,600 rows read as they are, where grouping the detailed rollup summed 17,000. As
    # SQL (``_union_all``): composing the queryset cost more than a third of this function.
    part = _Part("series", scope, tuple(subject_ids), rng.start, rng.end, rng.interval)
    rows = _union_all([part], ("bucket", *_TOTALS_COLUMNS))
    if rows:
        _tags, sids, starts, *values = zip(*rows, strict=True)
        subjects = np.fromiter(map(row_of.__getitem__, sids), dtype=np.intp, count=len(rows))
        positions = np.fromiter(map(index.__getitem__, starts), dtype=np.intp, count=len(rows))
        grid[:, subjects, positions] = np.array(values, dtype=np.int64)
    out: dict[int, dict[str, list[Any]]] = {}
    for sid, i in row_of.items():
        column: dict[str, list[Any]] = {name: grid[f, i].tolist() for f, name in enumerate(SERIES_FIELDS)}
        # Python's round, not numpy's: the same figures as the totals' net sentiment, ties included.
        column["unique_authors"] = [
            n or (None if v else 0) for n, v in zip(column["unique_authors"], column["volume"], strict=True)
        ]
        column["net_sentiment"] = [
            net_sentiment(p, n) for p, n in zip(column["positive"], column["negative"], strict=True)
        ]
        out[sid] = column
    return out


def bucket_labels(rng: Range) -> list[str]:
    """ISO 8601 starts of the range's buckets, formatted once for every series of the answer."""
    return [bucket.strftime("%Y-%m-%dT%H:%M:%SZ") for bucket in rng.buckets()]


@dataclass(frozen=True)
class _Part:
    """One piece of a single-statement read: rows of the ``table`` of ``scope`` ("totals", "terms"
    or "term_weeks") for ``subjects`` with buckets in ``[start, end)`` (and of ``interval``
    where the table has several), read under ``tag`` (parts may share a tag and add up)."""

    tag: str
    scope: Scope
    subjects: tuple[int, ...]
    start: datetime
    end: datetime
    interval: Interval | None = None
    table: str = "totals"


def _union_all(
    parts: list[_Part], columns: tuple[str, ...], sums: tuple[str, ...] = ()
) -> list[tuple[Any, ...]]:
    """Rows ``(tag, subject, *columns, *sums)`` of every part's table (subjects, [interval,] bucket
    range) in one statement.

    With ``sums``, the rows of all parts are added up per (tag, subject, *columns), as integers:
    parts that share a tag (whole weeks and their edge days, say) come back as one row. Without,
    rows come back as stored.

    Written out rather than built with the ORM: fifteen querysets cost more Python to compose than
    PostgreSQL takes to answer them (each arm is an index-only scan of a few hundred rows). Each arm
    reads one contiguous bucket range: OR-ed ranges made PostgreSQL plan a bitmap heap scan, costed
    high enough to start parallel workers for a 1 ms read. Adding up in the database rather than in
    Python: a comparison of twenty brands merges about 30,000 term rows."""
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    read = ", ".join((*columns, *sums))
    arms: list[str] = []
    params: list[Any] = []
    for part in parts:
        model, fk = getattr(part.scope, part.table), quote(part.scope.fk)
        interval = "" if part.interval is None else f" AND {quote('interval')} = %s"
        marks = ", ".join(["%s"] * len(part.subjects))
        arms.append(
            f"SELECT %s AS tag, {fk} AS subject, {read} FROM {quote(model._meta.db_table)} "
            f"WHERE {fk} IN ({marks}){interval} AND bucket >= %s AND bucket < %s"
        )
        params += [part.tag, *part.subjects]
        params += [] if part.interval is None else [part.interval.value]
        params += [adapt(part.start), adapt(part.end)]
    sql = " UNION ALL ".join(arms)
    if sums:
        keys = ", ".join(("tag", "subject", *columns))
        added = ", ".join(f"CAST(SUM({name}) AS BIGINT)" for name in sums)
        sql = f"SELECT {keys}, {added} FROM ({sql}) AS parts GROUP BY {keys}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _period_sums(parts: list[_Part]) -> dict[tuple[str, int], dict[str, int]]:
    """Per (tag, subject): ``volume``, ``positive`` and ``negative`` mentions of its parts' buckets.

    One statement whatever the number of parts: each is an index scan of a ``*Totals``' (subject,
    interval, bucket) index; a subject without rows adds up to zeros."""
    out = {
        (part.tag, sid): {"volume": 0, "positive": 0, "negative": 0}
        for part in parts
        for sid in part.subjects
    }
    for tag, sid, volume, positive, negative in _union_all(
        parts, (), ("mention_count", "positive", "negative")
    ):
        out[(tag, sid)] = {"volume": volume, "positive": positive, "negative": negative}
    return out


def _term_parts(
    tag: str, scope: Scope, subjects: tuple[int, ...], start: datetime, end: datetime
) -> list[_Part]:
    """The term rows that add up to the UTC days touching ``[start, end)`` with the fewest rows:
    whole ISO weeks from the weekly table, the days before and after them from the daily one."""
    first_day, end_day = _touched_days(start, end)
    first_week = floor_week(first_day)
    first_week = first_week if first_week == first_day else first_week + WEEK
    end_week = floor_week(end_day)
    if first_week >= end_week:  # no whole week inside: days only
        return [_Part(tag, scope, subjects, first_day, end_day, table="terms")]
    parts = [_Part(tag, scope, subjects, first_week, end_week, table="term_weeks")]
    if first_day < first_week:
        parts.append(_Part(tag, scope, subjects, first_day, first_week, table="terms"))
    if end_week < end_day:
        parts.append(_Part(tag, scope, subjects, end_week, end_day, table="terms"))
    return parts


def _terms(parts: list[_Part]) -> dict[tuple[str, int], dict[str, int]]:
    """Per (tag, subject), mentions containing each term in the term rows of its parts; one statement."""
    out: dict[tuple[str, int], dict[str, int]] = {(p.tag, sid): {} for p in parts for sid in p.subjects}
    for tag, sid, term, n in _union_all(parts, ("term",), ("mention_count",)):
        out[(tag, sid)][term] = n
    return out


def _touched_days(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The UTC days touching ``[start, end)``, as a range of day buckets."""
    return floor_day(start), ceil_bucket(Interval.DAY, end)


def _top(counts: dict[str, int], hashtags: bool, limit: int = TOP_TERMS) -> list[dict[str, Any]]:
    items = [(t, n) for t, n in counts.items() if t.startswith("#") == hashtags]
    # Folding can remove up to two words per phrase, so a few more than the limit are candidates.
    wanted = limit * 3
    if len(items) > wanted:
        # Only terms counted at least as often as the wanted-th best can be in the answer: a brand has
        # thousands of terms, and sorting them all (or a heap with a key) was most of this function.
        floor = heapq.nlargest(wanted, [n for _t, n in items])[-1]
        items = [item for item in items if item[1] >= floor]
    items.sort(key=lambda item: (-item[1], item[0]))
    # A word is in at least as many mentions as a phrase holding it, so it is a candidate too.
    folded = folded_words(items)
    return [{"term": t, "mentions": n} for t, n in items if t not in folded][:limit]


def emerging_themes(
    window: dict[str, int],
    window_volume: int,
    baseline: dict[str, int],
    baseline_volume: int,
    limit: int = TOP_THEMES,
) -> list[dict[str, Any]]:
    """Terms whose share of mentions rose most from the baseline to the window.

    Share = mentions containing the term / all mentions of the period. A term absent from the
    baseline has baseline share 0. Ties break on the term, so the answer is stable.
    """
    if window_volume == 0:
        return []
    themes = []
    for term, n in window.items():
        if n < MIN_THEME_SUPPORT:
            continue
        share = n / window_volume
        base_share = baseline.get(term, 0) / baseline_volume if baseline_volume else 0.0
        if share > base_share:
            themes.append((share - base_share, term, share, base_share))
    themes.sort(key=lambda item: (-item[0], item[1]))
    return [
        {
            "term": term,
            "mentions": window[term],
            "share": round(share, 4),
            "baseline_share": round(base, 4),
            "rise": round(rise, 4),
        }
        for rise, term, share, base in themes[:limit]
    ]


# --- campaign metrics -------------------------------------------------------------------------


def campaign_window(campaign: Campaign, now: datetime) -> tuple[datetime, datetime]:
    end = min(campaign.ends_at or now, now)
    return campaign.starts_at, max(end, campaign.starts_at)


def campaign_baseline(campaign: Campaign) -> tuple[datetime, datetime]:
    if campaign.baseline_starts_at and campaign.baseline_ends_at:
        return campaign.baseline_starts_at, campaign.baseline_ends_at
    length = (campaign.ends_at - campaign.starts_at) if campaign.ends_at else DEFAULT_BASELINE
    return campaign.starts_at - length, campaign.starts_at


def _hours(start: datetime, end: datetime) -> Range:
    return Range(Interval.HOUR, floor_hour(start), ceil_bucket(Interval.HOUR, end))


def _lift(
    window: dict[str, int], window_hours: Range, baseline: dict[str, int], baseline_hours: Range
) -> dict[str, Any]:
    """Volume per day and net sentiment, window vs baseline (both in whole hours)."""
    periods: dict[str, dict[str, Any]] = {}
    for name, sums, rng in (("window", window, window_hours), ("baseline", baseline, baseline_hours)):
        days = max((rng.end - rng.start) / DAY, 1 / 24)
        periods[name] = {
            "from": rng.start,
            "to": rng.end,
            "volume": sums["volume"],
            "volume_per_day": round(sums["volume"] / days, 4),
            "net_sentiment": net_sentiment(sums["positive"], sums["negative"]),
        }
    w, b = periods["window"], periods["baseline"]
    net_change = (
        round(w["net_sentiment"] - b["net_sentiment"], 4)
        if w["net_sentiment"] is not None and b["net_sentiment"] is not None
        else None
    )
    return {
        **periods,
        "volume_lift": _ratio(w["volume_per_day"], b["volume_per_day"]),
        "net_sentiment_change": net_change,
    }


def campaign_metrics(
    campaign: Campaign,
    interval: str,
    start: datetime | None,
    end: datetime | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything the campaign dashboard shows; see the API docs for the shape.

    Four statements whatever the range (five for hourly series): the series (whose sums are the
    totals), the unique authors (and per hour), every other rollup sum (lift periods and the day
    volumes behind term shares) in one, every term count in one.
    """
    now = now or timezone.now()
    window = campaign_window(campaign, now)
    baseline = campaign_baseline(campaign)
    rng = resolve_range(interval, start, end, default_start=window[0], default_end=window[1])
    cid, bid = campaign.pk, campaign.brand_id
    series = _series(CAMPAIGN_SCOPE, [cid], rng)
    summary = _totals(series, _unique_authors(CAMPAIGN_SCOPE, [cid], rng.start, rng.end))[cid]
    window_hours, baseline_hours = _hours(*window), _hours(*baseline)
    range_days, baseline_days = _touched_days(rng.start, rng.end), _touched_days(*baseline)
    day = Interval.DAY
    sums = {
        tag: found
        for (tag, _sid), found in _period_sums(
            [
                *(
                    _Part(f"{scope.name} {name}", scope, (subject_id,), span_start, span_end, interval)
                    for scope, subject_id in ((CAMPAIGN_SCOPE, cid), (BRAND_SCOPE, bid))
                    for name, hours in (("window", window_hours), ("baseline", baseline_hours))
                    for interval, span_start, span_end in _coarsest_buckets(hours)
                ),
                _Part("campaign range days", CAMPAIGN_SCOPE, (cid,), *range_days, day),
                _Part("campaign baseline days", CAMPAIGN_SCOPE, (cid,), *baseline_days, day),
                _Part("brand baseline days", BRAND_SCOPE, (bid,), *baseline_days, day),
            ]
        ).items()
    }
    terms_of = {
        tag: counts
        for (tag, _sid), counts in _terms(
            [
                *_term_parts("campaign range", CAMPAIGN_SCOPE, (cid,), rng.start, rng.end),
                *_term_parts("campaign baseline", CAMPAIGN_SCOPE, (cid,), *baseline),
                *_term_parts("brand baseline", BRAND_SCOPE, (bid,), *baseline),
            ]
        ).items()
    }
    # The campaign's own mentions rarely exist before it starts: its themes are measured against
    # what was said about the brand during the baseline.
    own_baseline = bool(sum(terms_of["campaign baseline"].values()))
    allowed = filter_for(campaigns=[campaign]).keep
    terms = allowed(terms_of["campaign range"])
    baseline_terms = allowed(terms_of["campaign baseline" if own_baseline else "brand baseline"])
    baseline_volume = sums["campaign baseline days" if own_baseline else "brand baseline days"]["volume"]
    top_terms, top_hashtags = _top(terms, hashtags=False), _top(terms, hashtags=True)
    themes = emerging_themes(terms, sums["campaign range days"]["volume"], baseline_terms, baseline_volume)
    add_examples({cid: (top_terms, top_hashtags, themes)}, CAMPAIGN_SCOPE, *range_days)
    return {
        "campaign": {"id": cid, "name": campaign.name, "brand": bid},
        "range": rng.describe(),
        **summary,
        "top_terms": top_terms,
        "top_hashtags": top_hashtags,
        "emerging_themes": themes,
        "lift": {
            "campaign": _lift(
                sums["campaign window"], window_hours, sums["campaign baseline"], baseline_hours
            ),
            "brand": _lift(sums["brand window"], window_hours, sums["brand baseline"], baseline_hours),
        },
        "buckets": bucket_labels(rng),
        "series": series[cid],
        "model": model_provenance(CAMPAIGN_SCOPE, [cid], campaign.organization_id, rng.start, rng.end),
    }


# --- comparisons ------------------------------------------------------------------------------


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def leads_and_lags(
    term_counts: dict[int, dict[str, int]], volumes: dict[int, int], limit: int = TOP_THEMES
) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """Per brand, the terms whose share of its mentions is most above (leads) or below (lags) the
    share among the other compared brands' mentions. Terms in fewer than ``MIN_THEME_SUPPORT``
    mentions of all the brands together are left out; ties break on the term.

    A brands x terms matrix: twenty brands share thousands of terms, and the same arithmetic as a
    Python loop per brand and term was a fifth of a comparison's time.
    """
    import numpy as np

    bids = list(term_counts)
    vocabulary = sorted({term for counts in term_counts.values() for term in counts})
    column = {term: j for j, term in enumerate(vocabulary)}
    matrix = np.zeros((len(bids), len(vocabulary)))
    for i, bid in enumerate(bids):
        counts = term_counts[bid]
        where = np.fromiter((column[term] for term in counts), dtype=np.intp, count=len(counts))
        matrix[i, where] = np.fromiter(counts.values(), dtype=float, count=len(counts))
    totals = matrix.sum(axis=0)
    supported = totals >= MIN_THEME_SUPPORT
    total_volume = sum(volumes.values())

    def described(count: Any, share: Any, others: Any, picks: Any) -> list[dict[str, Any]]:
        return [
            {
                "term": vocabulary[j],
                "mentions": int(count[j]),
                "share": round(float(share[j]), 4),
                "others_share": round(float(others[j]), 4),
                "difference": round(float(share[j] - others[j]), 4),
            }
            for j in picks
        ]

    out: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for i, bid in enumerate(bids):
        volume, others_volume = volumes[bid], total_volume - volumes[bid]
        if not (volume and others_volume and vocabulary):
            out[bid] = {"leads": [], "lags": []}
            continue
        share = matrix[i] / volume
        others = (totals - matrix[i]) / others_volume
        difference = np.where(supported, share - others, 0.0)
        # Columns are in term order, so a stable sort on the difference breaks ties on the term.
        leads = [j for j in np.argsort(-difference, kind="stable")[:limit] if difference[j] > 0]
        lags = [j for j in np.argsort(difference, kind="stable")[:limit] if difference[j] < 0]
        out[bid] = {
            "leads": described(matrix[i], share, others, leads),
            "lags": described(matrix[i], share, others, lags),
        }
    return out


def brand_comparison(
    brands: list[Brand],
    interval: str,
    start: datetime | None,
    end: datetime | None,
    now: datetime | None = None,
    *,
    topics: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """Share of voice, sentiment and themes of several brands of one organization over one range.

    With ``topics`` the brands' enriched mentions are also clustered (``topic_themes``), which reads
    embeddings and costs far more than the rollup-only answer; dashboards ask for it separately.
    """
    now = now or timezone.now()
    rng = resolve_range(interval, start, end, default_start=now - timedelta(days=30), default_end=now)
    ids = [brand.pk for brand in brands]
    series = _series(BRAND_SCOPE, ids, rng)
    summaries = _totals(series, _unique_authors(BRAND_SCOPE, ids, rng.start, rng.end))
    found = _terms(_term_parts("range", BRAND_SCOPE, tuple(ids), rng.start, rng.end))
    allowed = filter_for(brands).keep  # no compared brand's own terms: each leads on its own name
    terms = {bid: allowed(found[("range", bid)]) for bid in ids}
    # Term shares are of the days the term counts cover: for daily buckets, the range itself.
    if rng.interval == Interval.DAY:
        day_volume = {bid: summaries[bid]["volume"] for bid in ids}
    else:
        days = _Part("days", BRAND_SCOPE, tuple(ids), *_touched_days(rng.start, rng.end), Interval.DAY)
        day_volume = {bid: sums["volume"] for (_tag, bid), sums in _period_sums([days]).items()}
    themes = leads_and_lags(terms, day_volume)
    top_terms = {bid: _top(terms[bid], hashtags=False, limit=10) for bid in ids}
    add_examples(
        {bid: (top_terms[bid], themes[bid]["leads"], themes[bid]["lags"]) for bid in ids},
        BRAND_SCOPE,
        *_touched_days(rng.start, rng.end),
        scan=max(200, EXAMPLE_SCAN // len(ids)),
    )
    total_volume = sum(s["volume"] for s in summaries.values())
    total_engagement = sum(s["engagement"] for s in summaries.values())
    answer: dict[str, Any] = {
        "range": rng.describe(),
        "model": model_provenance(BRAND_SCOPE, ids, brands[0].organization_id, rng.start, rng.end),
        "buckets": bucket_labels(rng),
        "brands": [
            {
                "id": brand.pk,
                "name": brand.name,
                **summaries[brand.pk],
                "share_of_voice": {
                    "mentions": _share(summaries[brand.pk]["volume"], total_volume),
                    "engagement": _share(summaries[brand.pk]["engagement"], total_engagement),
                },
                "top_terms": top_terms[brand.pk],
                "themes": themes[brand.pk],
                "series": series[brand.pk],
            }
            for brand in brands
        ],
    }
    if topics:
        from listening.analytics.topic_queries import topic_themes

        clusters, topic_leads = topic_themes(brands, rng, seed=seed)
        answer["topics"] = clusters
        for row in answer["brands"]:
            row["themes"].update(topic_leads[row["id"]])
    return answer
