"""One brand's audience, clustered and described, without Django (as ``topics`` is).

``services.do_build_affinities`` gathers the :class:`Audience` from the database (the brand's most
active authors over the window and everything they wrote in the organization), then:

1. :func:`vectorise`: each author is the mean of their mentions' embeddings, L2-normalised;
2. :func:`topics.cluster` groups the authors (seeded KMeans, k by silhouette);
3. :func:`describe`: each cluster gets a c-TF-IDF label and terms, its over-represented hashtags,
   terms and other brands (lift against the whole audience), its sentiment towards the brand and
   its overlap with each competitor's audience.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from listening.analytics.terms import NO_FILTER, TermFilter
from listening.analytics.topics import Clustering, ctfidf_terms, decode_embedding, label_of, normalise
from listening.analytics.vocabulary import net_sentiment

INTEREST_LIMIT = 8
LABEL_TERMS = 10


@dataclass(frozen=True)
class Audience:
    """The authors to cluster (author keys, sorted) and what is known of each."""

    brand_id: int
    authors: list[str]  # each has at least one embedded mention
    texts: dict[str, list[str]]  # what the author wrote in the organization over the window
    embeddings: dict[str, list[bytes]]  # ``Enrichment.embedding`` of those mentions
    towards: dict[str, Counter[str]]  # sentiment of the author's mentions of the brand
    co_brands: dict[str, set[int]]  # brands the author's mentions are linked to


def vectorise(audience: Audience) -> np.ndarray:
    """One row per author: the mean of their mentions' embeddings, L2-normalised."""
    means = [
        np.mean([decode_embedding(raw) for raw in audience.embeddings[key]], axis=0)
        for key in audience.authors
    ]
    return normalise(np.stack(means))


def describe(
    audience: Audience,
    clustering: Clustering,
    *,
    competitors: list[tuple[int, str]],
    names: dict[int, str],
    term_filter: TermFilter = NO_FILTER,
) -> list[dict[str, Any]]:
    """The fields of one ``AffinityCluster`` per cluster, in cluster order.

    ``competitors`` are the brand's (id, name) pairs, ``names`` every brand name of the organization
    (for the ``brands`` interests); ``term_filter`` keeps the brand's own terms out of labels and
    interests (every member wrote them)."""
    authors = audience.authors
    labels = clustering.labels.tolist()
    label_terms = ctfidf_terms(
        [" ".join(audience.texts[key]) for key in authors], labels, top_n=LABEL_TERMS, term_filter=term_filter
    )
    author_terms = {key: set(term_filter.terms(" ".join(audience.texts[key]))) for key in authors}
    described = []
    for c in sorted(set(labels)):
        members = [key for key, label in zip(authors, labels, strict=True) if label == c]
        split: Counter[str] = Counter()
        for key in members:
            split.update(audience.towards[key])

        def lift(items: Callable[[str], set[Any]], members: list[str] = members) -> list[dict[str, Any]]:
            return interest_lift(authors, members, items, names)

        hashtags = lift(lambda k: {t for t in author_terms[k] if t.startswith("#")})
        described.append(
            {
                "index": c,
                "size": len(members),
                "label": audience_label(label_terms[c], hashtags),
                "terms": [{"term": t, "weight": w} for t, w in label_terms[c]],
                "interests": {
                    "hashtags": hashtags,
                    "terms": lift(lambda k: {t for t in author_terms[k] if not t.startswith("#")}),
                    "brands": lift(lambda k: audience.co_brands[k] - {audience.brand_id}),
                },
                "sentiment": {
                    "positive": split["positive"],
                    "neutral": split["neutral"],
                    "negative": split["negative"],
                    "unscored": split["unscored"],
                    "net_sentiment": net_sentiment(split["positive"], split["negative"]),
                },
                "overlap": [
                    {
                        "brand": cid,
                        "name": cname,
                        "share": round(sum(cid in audience.co_brands[k] for k in members) / len(members), 4),
                    }
                    for cid, cname in competitors
                ],
            }
        )
    return described


# An audience is named first by the hashtags that set it apart (#familycamping, #thruhike: what a
# marketer calls a persona), when enough of its members use them; then by its distinctive terms.
LABEL_HASHTAGS = 2
LABEL_HASHTAG_SHARE = 0.25


def audience_label(terms: Sequence[tuple[str, float]], hashtags: Sequence[dict[str, Any]]) -> str:
    """The cluster's name: its most over-represented hashtags that at least ``LABEL_HASHTAG_SHARE``
    of its members use, then its best c-TF-IDF terms (``topics.label_of``)."""
    tags = [h["value"] for h in hashtags if h["share"] >= LABEL_HASHTAG_SHARE][:LABEL_HASHTAGS]
    rest = [(term, weight) for term, weight in terms if term not in tags]
    return label_of([*((tag, 1.0) for tag in tags), *rest])


def interest_lift(
    authors: list[str],
    members: list[str],
    items: Callable[[str], set[Hashable]],
    names: dict[int, str],
    limit: int = INTEREST_LIMIT,
) -> list[dict[str, Any]]:
    """What the cluster's members share more than the audience does: ``share`` of members with the
    item and ``lift`` (that share over the audience's), items of at least two members, best first.
    Brand ids are shown by name."""
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
        if share <= base:  # as common in the whole audience: not what sets this cluster apart
            continue
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
