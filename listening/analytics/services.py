"""Writes of the analytics app: rollup maintenance and affinity runs.

``do_update_rollups`` is what the enrichment task calls after it writes sentiment. It recomputes
every rollup bucket of the UTC days the given mentions fall in, for each brand and campaign they
belong to, from ``BrandMention``/``CampaignMention`` + ``Mention``. Recomputing (instead of
applying deltas) makes it idempotent and correct when a mention's sentiment changes between model
versions, is re-linked, or is deleted: the buckets always equal a from-scratch computation.
A per-subject row lock (``SELECT ... FOR UPDATE`` on the brand/campaign) serialises concurrent
recomputes of the same subject, so two workers never interleave delete and insert.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from django.db import models, transaction

from listening.analytics import authors as author_sets
from listening.analytics.models import (
    BrandRollup,
    BrandTermDay,
    BrandTermWeek,
    BrandTotals,
    BrandVersionDay,
    CampaignRollup,
    CampaignTermDay,
    CampaignTermWeek,
    CampaignTotals,
    CampaignVersionDay,
    Interval,
)
from listening.analytics.terms import extract_terms
from listening.brands.models import Brand, Campaign
from listening.mentions.models import BrandMention, CampaignMention

log = structlog.get_logger(__name__)

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
# Mentions looked up per query when resolving which buckets a batch touches.
ID_CHUNK = 2_000
# Days recomputed per transaction during a full rebuild (bounds memory per step).
REBUILD_DAYS_PER_STEP = 31


@dataclass(frozen=True)
class Scope:
    """Brands or campaigns: the link table and the rollup tables kept for that kind of subject."""

    name: str
    owner: type[models.Model]
    link: type[models.Model]
    fk: str  # the subject's column on the link and rollup tables
    rollup: type[models.Model]
    totals: type[models.Model]
    terms: type[models.Model]
    term_weeks: type[models.Model]
    versions: type[models.Model]


BRAND_SCOPE = Scope(
    "brand",
    Brand,
    BrandMention,
    "brand_id",
    BrandRollup,
    BrandTotals,
    BrandTermDay,
    BrandTermWeek,
    BrandVersionDay,
)
CAMPAIGN_SCOPE = Scope(
    "campaign",
    Campaign,
    CampaignMention,
    "campaign_id",
    CampaignRollup,
    CampaignTotals,
    CampaignTermDay,
    CampaignTermWeek,
    CampaignVersionDay,
)
SCOPES = (BRAND_SCOPE, CAMPAIGN_SCOPE)


def floor_day(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def floor_week(moment: datetime) -> datetime:
    """The start of the ISO week (Monday 00:00 UTC), as PostgreSQL's ``date_trunc('week', ...)``."""
    day = floor_day(moment)
    return day - day.weekday() * DAY


def author_key(author_id: str, author_handle: str, mention_id: int) -> str:
    """Who wrote it, for unique-author counts; an unknown author is a distinct one per mention."""
    if author_id:
        return author_id[:255]
    if author_handle:
        return f"@{author_handle.lower()}"[:255]
    return f"mention:{mention_id}"


def day_ranges(days: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Merge day starts into contiguous half-open ranges ``[start, end)``."""
    ranges: list[tuple[datetime, datetime]] = []
    for day in sorted(set(days)):
        if ranges and ranges[-1][1] == day:
            ranges[-1] = (ranges[-1][0], day + DAY)
        else:
            ranges.append((day, day + DAY))
    return ranges


def _in_ranges(field: str, ranges: Sequence[tuple[datetime, datetime]]) -> models.Q:
    query = models.Q()
    for start, end in ranges:
        query |= models.Q(**{f"{field}__gte": start, f"{field}__lt": end})
    return query


def do_update_rollups(mention_ids: Sequence[int]) -> None:
    """Bring the rollups of every brand and campaign these mentions belong to up to date.

    Idempotent; safe to call with ids of mentions that were deleted or have no brand. Cost is
    proportional to the mentions of the affected subjects on the affected days.
    """
    ids = sorted({int(mention_id) for mention_id in mention_ids})
    for scope in SCOPES:
        touched: dict[int, set[datetime]] = defaultdict(set)
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start : start + ID_CHUNK]
            for subject_id, published_at in scope.link._default_manager.filter(
                mention_id__in=chunk
            ).values_list(scope.fk, "published_at"):
                touched[subject_id].add(floor_day(published_at))
        # One order for every worker: two enrichments touching the same brands lock them alike.
        for subject_id in sorted(touched):
            recompute_subject_days(scope, subject_id, touched[subject_id])


def recompute_subject_days(scope: Scope, subject_id: int, days: Iterable[datetime]) -> None:
    """Replace all rollup rows of ``subject_id`` on ``days`` (UTC day starts) by fresh aggregates."""
    ranges = day_ranges(days)
    if not ranges:
        return
    with transaction.atomic():
        organization_id = (
            # NO KEY UPDATE serialises recomputes of one subject without blocking the FOR KEY SHARE
            # that inserting a mention's link takes on it (plain FOR UPDATE deadlocked with pushes).
            scope.owner._default_manager.select_for_update(no_key=True)
            .filter(pk=subject_id)
            .values_list("organization_id", flat=True)
            .first()
        )
        if organization_id is None:  # deleted meanwhile: its rollups went with it (cascade)
            return
        rows = (
            scope.link._default_manager.filter(**{scope.fk: subject_id})
            .filter(_in_ranges("published_at", ranges))
            .values_list(
                "published_at",
                "mention_id",
                "mention__kind",
                "mention__sentiment",
                "mention__language",
                "mention__engagement_total",
                "mention__author_id",
                "mention__author_handle",
                "mention__clean_text",
                "mention__text",
                "mention__model_version_id",
            )
            .iterator(chunk_size=5_000)  # streamed: only the aggregates are kept in memory
        )
        counts: Counter[tuple[str, datetime, str, str, str]] = Counter()
        engagement: Counter[tuple[str, datetime, str, str, str]] = Counter()
        bucket_authors: dict[tuple[str, datetime], set[bytes]] = defaultdict(set)
        terms: Counter[tuple[datetime, str]] = Counter()
        versions: Counter[tuple[datetime, int]] = Counter()
        for (
            published_at,
            mention_id,
            kind,
            sentiment,
            language,
            eng,
            a_id,
            a_handle,
            clean,
            text,
            version,
        ) in rows:
            hour, day = floor_hour(published_at), floor_day(published_at)
            digest = author_sets.digest(author_key(a_id, a_handle, mention_id))
            for interval, bucket in ((Interval.HOUR, hour), (Interval.DAY, day)):
                key = (interval, bucket, kind, sentiment, language)
                counts[key] += 1
                engagement[key] += eng
                bucket_authors[(interval, bucket)].add(digest)
            for term in extract_terms(clean or text):
                terms[(day, term)] += 1
            if version is not None:
                versions[(day, version)] += 1

        subject = {scope.fk: subject_id}
        for model in (scope.rollup, scope.totals, scope.terms, scope.versions):
            model._default_manager.filter(**subject).filter(_in_ranges("bucket", ranges)).delete()
        common = {"organization_id": organization_id, **subject}
        scope.rollup._default_manager.bulk_create(
            (
                scope.rollup(
                    **common,
                    interval=interval,
                    bucket=bucket,
                    source_kind=kind,
                    sentiment=sentiment,
                    language=language,
                    mention_count=count,
                    engagement_sum=engagement[(interval, bucket, kind, sentiment, language)],
                )
                for (interval, bucket, kind, sentiment, language), count in counts.items()
            ),
            batch_size=2_000,
        )
        scope.totals._default_manager.bulk_create(
            (scope.totals(**common, **fields) for fields in _totals_rows(counts, engagement, bucket_authors)),
            batch_size=500,  # each row carries its author set
        )
        scope.terms._default_manager.bulk_create(
            (
                scope.terms(**common, bucket=bucket, term=term, mention_count=n)
                for (bucket, term), n in terms.items()
            ),
            batch_size=2_000,
        )
        scope.versions._default_manager.bulk_create(
            (
                scope.versions(**common, bucket=bucket, model_version_id=version, mention_count=n)
                for (bucket, version), n in versions.items()
            ),
            batch_size=2_000,
        )
        _recompute_term_weeks(scope, subject_id, organization_id, _weeks_of(ranges))


def _weeks_of(ranges: Sequence[tuple[datetime, datetime]]) -> set[datetime]:
    """The starts of the weeks that the day ranges touch."""
    weeks = set()
    for start, end in ranges:
        week = floor_week(start)
        while week < end:
            weeks.add(week)
            week += WEEK
    return weeks


def _totals_rows(
    counts: Counter[tuple[str, datetime, str, str, str]],
    engagement: Counter[tuple[str, datetime, str, str, str]],
    bucket_authors: dict[tuple[str, datetime], set[bytes]],
) -> Iterator[dict[str, Any]]:
    """The ``*Totals`` fields of every bucket, from the detailed rollup counts and author digests."""
    sums: dict[tuple[str, datetime], dict[str, int]] = {}
    for key, count in counts.items():
        interval, bucket, _kind, sentiment, _language = key
        row = sums.setdefault(
            (interval, bucket),
            {
                "mention_count": 0,
                "engagement_sum": 0,
                "positive": 0,
                "neutral": 0,
                "negative": 0,
                "unscored": 0,
            },
        )
        row["mention_count"] += count
        row["engagement_sum"] += engagement[key]
        row[sentiment or "unscored"] += count
    for (interval, bucket), row in sums.items():
        found = bucket_authors[(interval, bucket)]
        yield {
            "interval": interval,
            "bucket": bucket,
            **row,
            "author_count": len(found),
            "authors": author_sets.pack(found),
        }


def _recompute_term_weeks(
    scope: Scope, subject_id: int, organization_id: int, weeks: Iterable[datetime]
) -> None:
    """Replace the subject's week term rows of ``weeks`` by the sums of their (current) day rows."""
    subject = {scope.fk: subject_id}
    for week in sorted(weeks):
        span = {"bucket__gte": week, "bucket__lt": week + WEEK}
        scope.term_weeks._default_manager.filter(**subject, **span).delete()
        sums = (
            scope.terms._default_manager.filter(**subject, **span)
            .values_list("term")
            .annotate(n=models.Sum("mention_count"))
            .order_by()
        )
        scope.term_weeks._default_manager.bulk_create(
            (
                scope.term_weeks(
                    organization_id=organization_id, **subject, bucket=week, term=term, mention_count=n
                )
                for term, n in sums
            ),
            batch_size=2_000,
        )


def _subject_days(scope: Scope, subject_id: int) -> list[datetime]:
    """Every UTC day the subject has mentions on, plus days that still hold stale rollups."""
    days = {
        floor_day(moment)
        for moment in scope.link._default_manager.filter(**{scope.fk: subject_id})
        .values_list("published_at", flat=True)
        .iterator(chunk_size=10_000)
    }
    days |= set(
        scope.rollup._default_manager.filter(**{scope.fk: subject_id}, interval=Interval.DAY)
        .values_list("bucket", flat=True)
        .distinct()
    )
    return sorted(days)


def rebuild_steps(organization_id: int | None = None) -> Iterator[tuple[Scope, int, list[datetime]]]:
    """The units of work of a full rebuild, so a caller can show progress and run them."""
    for scope in SCOPES:
        subjects = scope.owner._default_manager.order_by("pk")
        if organization_id is not None:
            subjects = subjects.filter(organization_id=organization_id)
        for subject_id in subjects.values_list("pk", flat=True):
            days = _subject_days(scope, subject_id)
            for start in range(0, len(days), REBUILD_DAYS_PER_STEP):
                yield scope, subject_id, days[start : start + REBUILD_DAYS_PER_STEP]


def do_rebuild_rollups(
    organization_id: int | None = None, progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None
) -> int:
    """Rebuild every rollup (of one organization, or all) from the mentions; returns steps run."""
    steps: Iterable[Any] = list(rebuild_steps(organization_id))
    if progress is not None:
        steps = progress(steps)
    done = 0
    for scope, subject_id, days in steps:
        recompute_subject_days(scope, subject_id, days)
        done += 1
    log.info("rollups_rebuilt", organization_id=organization_id, steps=done)
    return done


# --- brand affinities -------------------------------------------------------------------------

AFFINITY_WINDOW = timedelta(days=90)
AFFINITY_MAX_AUTHORS = 5_000
AFFINITY_MIN_AUTHORS = 10


def do_build_affinities(brand_id: int, *, now: datetime | None = None, seed: int = 0) -> Any:
    """Cluster the brand's audience (authors who mentioned it in the last 90 days) and store a run.

    Each author is the mean embedding of all their mentions in the organization over the window;
    clusters are labelled by c-TF-IDF over what their authors wrote. Returns the ``AffinityRun``
    (``None`` if the brand is gone). A failure is recorded on the run and re-raised.
    """
    import numpy as np
    from django.utils import timezone

    from listening.analytics.models import AffinityCluster, AffinityRun
    from listening.analytics.provenance import model_provenance
    from listening.analytics.queries import latest_embeddings, net_sentiment
    from listening.analytics.topics import cluster, ctfidf_terms, decode_embedding, label_of, normalise
    from listening.mentions.models import Mention

    brand = Brand.objects.filter(pk=brand_id).first()
    if brand is None:
        log.info("affinity_brand_missing", brand_id=brand_id)
        return None
    now = now or timezone.now()
    start = now - AFFINITY_WINDOW
    with transaction.atomic():
        Brand.objects.select_for_update(no_key=True).filter(pk=brand_id).first()
        last = (
            AffinityRun.objects.filter(brand=brand)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )
        run = AffinityRun.objects.create(
            organization_id=brand.organization_id,
            brand=brand,
            version=(last or 0) + 1,
            window_starts_at=start,
            window_ends_at=now,
            params={
                "seed": seed,
                "max_authors": AFFINITY_MAX_AUTHORS,
                "window_days": AFFINITY_WINDOW.days,
                # The versions whose labels and embeddings the clusters are built from.
                "model": model_provenance(BRAND_SCOPE, [brand.pk], brand.organization_id, start, now),
            },
        )
    try:
        # Authors of the brand, most active first.
        brand_rows = list(
            BrandMention.objects.filter(
                brand=brand, published_at__gte=start, published_at__lt=now
            ).values_list("mention_id", "mention__author_id", "mention__author_handle", "mention__sentiment")
        )
        activity: Counter[str] = Counter()
        towards: dict[str, Counter[str]] = defaultdict(Counter)
        for mention_id, a_id, a_handle, sentiment in brand_rows:
            if not (a_id or a_handle):
                continue
            key = author_key(a_id, a_handle, mention_id)
            activity[key] += 1
            towards[key][sentiment or "unscored"] += 1
        audience = {
            key for key, _ in sorted(activity.items(), key=lambda kv: (-kv[1], kv[0]))[:AFFINITY_MAX_AUTHORS]
        }
        # Everything those authors wrote in the organization over the window.
        candidates = Mention.objects.filter(
            organization_id=brand.organization_id, published_at__gte=start, published_at__lt=now
        ).filter(
            models.Q(author_id__in=[k for k in audience if not k.startswith("@")])
            | models.Q(author_handle__in=[k[1:] for k in audience if k.startswith("@")])
        )
        rows = list(candidates.values_list("id", "author_id", "author_handle", "clean_text", "text"))
        keys = {mid: author_key(a_id, a_handle, mid) for mid, a_id, a_handle, _, _ in rows}
        vectors = latest_embeddings([mid for mid, *_ in rows])
        texts: dict[str, list[str]] = defaultdict(list)
        embedded: dict[str, list[np.ndarray]] = defaultdict(list)
        for mid, _a, _h, clean, text in rows:
            key = keys[mid]
            if key not in audience:
                continue
            texts[key].append(clean or text)
            if mid in vectors:
                embedded[key].append(decode_embedding(vectors[mid]))
        co_brands: dict[str, set[int]] = defaultdict(set)
        for mid, other_brand in BrandMention.objects.filter(mention_id__in=list(keys)).values_list(
            "mention_id", "brand_id"
        ):
            if keys[mid] in audience:
                co_brands[keys[mid]].add(other_brand)
        authors = sorted(key for key in audience if embedded[key])
        run.author_count = len(authors)
        if len(authors) < AFFINITY_MIN_AUTHORS:
            run.status, run.finished_at = AffinityRun.Status.DONE, timezone.now()
            run.message = (
                "Too few authors with enriched mentions to cluster "
                f"({len(authors)} < {AFFINITY_MIN_AUTHORS})."
            )
            run.save()
            return run
        matrix = normalise(np.stack([np.mean(embedded[key], axis=0) for key in authors]))
        result = cluster(matrix, seed=seed, max_k=8)
        labels = result.labels.tolist()
        docs = [" ".join(texts[key]) for key in authors]
        label_terms = ctfidf_terms(docs, labels, top_n=10)
        author_terms = {key: set(extract_terms(" ".join(texts[key]))) for key in authors}
        competitors = list(brand.competitors.values_list("pk", "name"))
        names = dict(Brand.objects.filter(organization_id=brand.organization_id).values_list("pk", "name"))

        def interest_lift(
            members: list[str], items: Callable[[str], set[Any]], limit: int = 8
        ) -> list[dict[str, Any]]:
            member_set = set(members)
            inside: Counter[Any] = Counter()
            overall: Counter[Any] = Counter()
            for key in authors:
                for item in items(key):
                    overall[item] += 1
                    if key in member_set:
                        inside[item] += 1
            scored = []
            for item, n in inside.items():
                if n < 2:
                    continue
                share, base = n / len(members), overall[item] / len(authors)
                scored.append((share / base, n, item, share))
            scored.sort(key=lambda s: (-s[0], -s[1], str(s[2])))
            return [
                {
                    "value": names.get(i, i) if isinstance(i, int) else i,
                    "share": round(sh, 4),
                    "lift": round(li, 3),
                }
                for li, _n, i, sh in scored[:limit]
            ]

        clusters = []
        for c in sorted(set(labels)):
            members = [key for key, label in zip(authors, labels, strict=True) if label == c]
            split: Counter[str] = Counter()
            for key in members:
                split.update(towards[key])
            clusters.append(
                AffinityCluster(
                    run=run,
                    index=c,
                    size=len(members),
                    label=label_of(label_terms[c]),
                    terms=[{"term": t, "weight": w} for t, w in label_terms[c]],
                    interests={
                        "hashtags": interest_lift(
                            members, lambda k: {t for t in author_terms[k] if t.startswith("#")}
                        ),
                        "terms": interest_lift(
                            members, lambda k: {t for t in author_terms[k] if not t.startswith("#")}
                        ),
                        "brands": interest_lift(members, lambda k: co_brands[k] - {brand.pk}),
                    },
                    sentiment={
                        "positive": split["positive"],
                        "neutral": split["neutral"],
                        "negative": split["negative"],
                        "unscored": split["unscored"],
                        "net_sentiment": net_sentiment(split["positive"], split["negative"]),
                    },
                    overlap=[
                        {
                            "brand": cid,
                            "name": cname,
                            "share": round(sum(cid in co_brands[k] for k in members) / len(members), 4),
                        }
                        for cid, cname in competitors
                    ],
                )
            )
        with transaction.atomic():
            AffinityCluster.objects.bulk_create(clusters)
            run.status, run.finished_at = AffinityRun.Status.DONE, timezone.now()
            run.params = {**run.params, "k": result.k, "silhouette": result.silhouette}
            run.save()
        log.info("affinities_built", brand_id=brand_id, run=run.pk, authors=len(authors), k=result.k)
        return run
    except Exception as exc:
        run.status, run.finished_at, run.message = AffinityRun.Status.FAILED, timezone.now(), str(exc)[:2000]
        run.save()
        raise


def active_brand_ids() -> list[int]:
    return list(Brand.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
