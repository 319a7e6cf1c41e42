"""Reads of topics: a brand's topic clusters, and the topics where compared brands lead or lag.

Every mention of the range is assigned a topic, not a sample: the topics are fitted
(``topics.fit_topics``: k by NPMI coherence x diversity unless given) on a seeded random sample of
at most ``FIT_SAMPLE`` embedded mentions spread over the whole range, then every embedded mention
of the range is assigned its nearest topic in chunks. Sizes, shares, sentiment and trends count
all assigned mentions; labels and examples come from the fitted sample; the answer's ``basis``
says so, and how many mentions had no embedding yet (not enriched: no topic).

Clustering costs seconds: answers are cached per (brand, range, k, seed, the brand's mentions in
the range, the model versions that labelled them, ``TOPIC_MODEL``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db.models import Count, Max
from django.utils import timezone

from listening.analytics.embedding import latest_embeddings
from listening.analytics.models import Interval
from listening.analytics.provenance import model_provenance, provenance_key
from listening.analytics.ranges import Range, resolve_range
from listening.analytics.terms import TermFilter
from listening.analytics.themes import filter_for
from listening.analytics.topics import TopicModel, decode_embedding, fit_topics, label_of
from listening.analytics.vocabulary import BRAND_SCOPE, floor_day, net_sentiment
from listening.brands.models import Brand
from listening.mentions.models import BrandMention, Mention, Sentiment

# The version of the topic algorithm: part of the cache key, and stated in every answer.
TOPIC_MODEL = "kmeans-npmi-diversity-v2"
FIT_SAMPLE = 3_000
ASSIGN_CHUNK = 5_000
# The most mentions one answer assigns (the newest of the range); beyond, the basis says so.
MAX_ASSIGNED = 200_000
TOPIC_CACHE_SECONDS = 15 * 60
TOP_TOPIC_THEMES = 10
EXAMPLES = 3


@dataclass(frozen=True)
class _Assigned:
    """Every embedded mention of the subjects, with its topic: ids, topics, days, sentiments."""

    model: TopicModel
    sample_ids: list[int]
    sample_docs: list[str]
    sample_vectors: np.ndarray
    ids: np.ndarray
    topics: np.ndarray
    days: list[datetime]
    sentiments: list[str]
    mentions: int  # all the subjects' mentions in the range (embedded or not, up to MAX_ASSIGNED)
    truncated: bool  # the range held more than MAX_ASSIGNED mentions: the newest were assigned


def _range_mention_ids(brand_ids: Sequence[int], rng: Range) -> tuple[list[int], bool]:
    """The distinct mentions of the brands in the range, newest first, at most ``MAX_ASSIGNED``."""
    rows = (
        BrandMention.objects.filter(brand_id__in=list(brand_ids), published_at__gte=rng.start)
        .filter(published_at__lt=rng.end)
        .order_by("-published_at", "-mention_id")
        .values_list("mention_id", flat=True)
    )
    ids = list(dict.fromkeys(rows[: MAX_ASSIGNED + 1].iterator(chunk_size=10_000)))
    return ids[:MAX_ASSIGNED], len(ids) > MAX_ASSIGNED


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), ASSIGN_CHUNK):
        yield list(ids[start : start + ASSIGN_CHUNK])


def _fit_and_assign(
    brand_ids: Sequence[int], rng: Range, *, k: int | None, seed: int, term_filter: TermFilter
) -> _Assigned | None:
    """Fit on a sample of the brands' embedded mentions in the range, assign all of them."""
    ids, truncated = _range_mention_ids(brand_ids, rng)
    generator = np.random.default_rng(seed)
    # Oversample: some mentions have no embedding yet. The sample is spread over the whole range.
    shuffled = [ids[i] for i in generator.permutation(len(ids))]
    sample_ids: list[int] = []
    vectors: list[np.ndarray] = []
    for chunk in _chunks(shuffled):
        found = latest_embeddings(chunk)
        for mid in chunk:
            if mid in found and len(sample_ids) < FIT_SAMPLE:
                sample_ids.append(mid)
                vectors.append(decode_embedding(found[mid]))
        if len(sample_ids) >= FIT_SAMPLE:
            break
    if not sample_ids:
        return None
    order = np.argsort(sample_ids, kind="stable")
    sample_ids = [sample_ids[i] for i in order]
    vectors = [vectors[i] for i in order]
    texts = {
        mid: clean or text
        for mid, clean, text in Mention.objects.filter(pk__in=sample_ids).values_list(
            "id", "clean_text", "text"
        )
    }
    docs = [texts.get(mid, "") for mid in sample_ids]
    matrix = np.stack(vectors)
    model = fit_topics(matrix, docs, k=k, seed=seed, term_filter=term_filter)
    fitted = dict(zip(sample_ids, model.labels.tolist(), strict=True))
    out_ids: list[int] = []
    topics: list[int] = []
    days: list[datetime] = []
    sentiments: list[str] = []
    for chunk in _chunks(ids):
        found = latest_embeddings(chunk)
        rest = [mid for mid in chunk if mid in found and mid not in fitted]
        predicted = dict(
            zip(
                rest,
                model.predict(
                    np.stack([decode_embedding(found[mid]) for mid in rest]) if rest else np.zeros((0, 1))
                ).tolist(),
                strict=True,
            )
        )
        rows = Mention.objects.filter(pk__in=[mid for mid in chunk if mid in found]).values_list(
            "id", "published_at", "sentiment"
        )
        for mid, published_at, sentiment in rows:
            out_ids.append(mid)
            topics.append(fitted[mid] if mid in fitted else predicted[mid])
            days.append(floor_day(published_at))
            sentiments.append(sentiment or "unscored")
    return _Assigned(
        model,
        list(sample_ids),
        docs,
        matrix,
        np.asarray(out_ids, dtype=np.int64),
        np.asarray(topics, dtype=np.int64),
        days,
        sentiments,
        len(ids),
        truncated,
    )


def _basis(assigned: _Assigned) -> dict[str, Any]:
    return {
        "algorithm": TOPIC_MODEL,
        "mentions": assigned.mentions,
        "assigned": len(assigned.ids),
        "unassigned_not_enriched": assigned.mentions - len(assigned.ids),
        "fit_sample": len(assigned.sample_ids),
        "truncated_to_newest": MAX_ASSIGNED if assigned.truncated else None,
        "sizes_and_trends": "all assigned mentions",
        "labels_and_examples": "the fitted sample",
    }


def _examples(assigned: _Assigned, topic: int) -> list[dict[str, Any]]:
    """The sample members nearest their topic's centre: the most typical mentions of it."""
    members = np.flatnonzero(assigned.model.labels == topic)
    centre = assigned.model.centroids[topic]
    closeness = assigned.sample_vectors[members] @ centre
    members = members[np.argsort(-closeness, kind="stable")].tolist()
    return [{"id": assigned.sample_ids[i], "text": assigned.sample_docs[i][:280]} for i in members[:EXAMPLES]]


def brand_topics(
    brand: Brand,
    start: datetime | None,
    end: datetime | None,
    *,
    k: int | None = None,
    seed: int = 0,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Topic clusters of all the brand's enriched mentions over a range (default: the last 30 days).

    Per topic: size and share (of the assigned mentions), label and terms (c-TF-IDF without stop
    words and the brand's own query terms), sentiment split and net, the trend (daily counts of all
    its mentions and the change of the second half of the range over the first) and examples.
    """
    now = now or timezone.now()
    rng = resolve_range(Interval.DAY, start, end, default_start=now - timedelta(days=30), default_end=now)
    links = BrandMention.objects.filter(brand=brand, published_at__gte=rng.start, published_at__lt=rng.end)
    state = links.aggregate(n=Count("id"), last=Max("mention_id"))
    model = model_provenance(BRAND_SCOPE, [brand.pk], brand.organization_id, rng.start, rng.end)
    key = ":".join(
        str(part)
        for part in (
            "analytics:topics",
            TOPIC_MODEL,
            brand.pk,
            rng.start.isoformat(),
            rng.end.isoformat(),
            k,
            seed,
            *state.values(),
            provenance_key(model),  # a re-read changes the labels topics show, not the mentions
            brand.query,  # labels leave out the query's terms
        )
    )
    cached = cache.get(key)
    if cached is None:
        cached = _brand_topics(brand, rng, k=k, seed=seed)
        cache.set(key, cached, timeout=TOPIC_CACHE_SECONDS)
    return {**cached, "model": model}


def _brand_topics(brand: Brand, rng: Range, *, k: int | None, seed: int) -> dict[str, Any]:
    base = {"range": rng.describe(), "brand": {"id": brand.pk, "name": brand.name}, "seed": seed}
    assigned = _fit_and_assign([brand.pk], rng, k=k, seed=seed, term_filter=filter_for([brand]))
    if assigned is None or not len(assigned.ids):
        return {**base, "clustered_mentions": 0, "k": 0, "topics": []}
    days = rng.buckets()
    topics: list[dict[str, Any]] = []
    total = len(assigned.ids)
    for c in sorted(set(assigned.topics.tolist())):
        where = np.flatnonzero(assigned.topics == c)
        split = {s.value: 0 for s in Sentiment} | {"unscored": 0}
        daily: dict[datetime, int] = dict.fromkeys(days, 0)
        for i in where.tolist():
            split[assigned.sentiments[i]] = split.get(assigned.sentiments[i], 0) + 1
            if assigned.days[i] in daily:
                daily[assigned.days[i]] += 1
        counts = list(daily.values())
        half = len(counts) // 2
        first, second = sum(counts[:half]), sum(counts[half:])
        terms = assigned.model.terms.get(c, [])
        examples = _examples(assigned, c)
        topics.append(
            {
                "cluster": c,
                "label": label_of(terms),
                "terms": [{"term": t, "weight": w} for t, w in terms],
                "size": len(where),
                "share": round(len(where) / total, 4),
                "sentiment": split,
                "net_sentiment": net_sentiment(split["positive"], split["negative"]),
                "trend": {
                    "basis": "all_assigned_mentions",
                    "daily": [{"bucket": d, "volume": n} for d, n in daily.items()],
                    "change": round((second - first) / first, 4) if half and first else None,
                },
                "examples": [example["text"] for example in examples],
                "example_ids": [example["id"] for example in examples],
            }
        )
    topics.sort(key=lambda t: (-t["size"], t["cluster"]))
    return {
        **base,
        "clustered_mentions": total,
        "k": assigned.model.k,
        "k_selection": assigned.model.selection,
        "basis": _basis(assigned),
        "topics": topics,
    }


def topic_themes(
    brands: list[Brand], rng: Range, *, k: int | None = None, seed: int = 0
) -> tuple[list[dict[str, Any]], dict[int, dict[str, list[dict[str, Any]]]]]:
    """Topic clusters over all the compared brands' enriched mentions, and per brand the clusters
    where its share of mentions is most above (leads) or below (lags) the other brands' pooled
    share. A mention of two compared brands counts for both."""
    ids = [brand.pk for brand in brands]
    assigned = _fit_and_assign(ids, rng, k=k, seed=seed, term_filter=filter_for(brands))
    empty: dict[str, list[dict[str, Any]]] = {"topic_leads": [], "topic_lags": []}
    if assigned is None or not len(assigned.ids):
        return [], {bid: dict(empty) for bid in ids}
    topic_of = dict(zip(assigned.ids.tolist(), assigned.topics.tolist(), strict=True))
    counts: dict[int, Counter[int]] = {bid: Counter() for bid in ids}
    for bid, mid in (
        BrandMention.objects.filter(brand_id__in=ids, published_at__gte=rng.start, published_at__lt=rng.end)
        .values_list("brand_id", "mention_id")
        .iterator(chunk_size=10_000)
    ):
        if mid in topic_of:
            counts[bid][topic_of[mid]] += 1
    totals = {bid: sum(c.values()) for bid, c in counts.items()}
    sizes = Counter(assigned.topics.tolist())
    clusters: list[dict[str, Any]] = []
    for c in sorted(sizes):
        terms = assigned.model.terms.get(c, [])
        clusters.append(
            {
                "cluster": c,
                "label": label_of(terms),
                "terms": [t for t, _ in terms[:8]],
                "size": sizes[c],
                "share_by_brand": {
                    str(bid): round(counts[bid][c] / totals[bid], 4) if totals[bid] else None
                    for bid in counts
                },
            }
        )
    themes = {}
    for bid in ids:
        diffs = []
        others_total = sum(t for other, t in totals.items() if other != bid)
        if totals[bid] and others_total:
            for cluster_info in clusters:
                c = cluster_info["cluster"]
                share = counts[bid][c] / totals[bid]
                others = sum(counts[o][c] for o in counts if o != bid) / others_total
                diffs.append((share - others, c, cluster_info["label"], share, others))
        leads = sorted((d for d in diffs if d[0] > 0), key=lambda d: (-d[0], d[1]))[:TOP_TOPIC_THEMES]
        lags = sorted((d for d in diffs if d[0] < 0), key=lambda d: (d[0], d[1]))[:TOP_TOPIC_THEMES]
        themes[bid] = {
            name: [
                {
                    "cluster": c,
                    "label": label,
                    "share": round(sh, 4),
                    "others_share": round(o, 4),
                    "difference": round(d, 4),
                }
                for d, c, label, sh, o in items
            ]
            for name, items in (("topic_leads", leads), ("topic_lags", lags))
        }
    return clusters, themes
