"""Audience clusters on real brand tweets: sizes, labels, interests, competitor overlaps.

    python -m benchmarks.audiences [--brand apple] [--seed 0]

The SemEval-2017 brand tweets (``../shared/data/brands``) carry no author ids, so each tweet stands
for one author (what a one-post audience looks like). The audience of ``--brand`` is every tweet
about it; each is embedded with the packaged all-MiniLM-L6-v2 (CPU) and the clusters are built and
described by the same code as ``do_build_affinities`` (``topics.fit_topics``, ``audiences.describe``):
label and terms without the brands' own names, interests (hashtags, terms, other brands named)
and the overlap with each competitor (the other brands of the file whose name the tweet names).
Prints one line per cluster, then its interests, for a person to judge.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "listening.settings")
django.setup()  # audiences reads the analytics vocabulary, which sits beside the models

from benchmarks.brand_tweets import BRANDS, read_brand_tweets  # noqa: E402
from listening.analytics.audiences import Audience, describe, vectorise  # noqa: E402
from listening.analytics.embedding import embed_texts  # noqa: E402
from listening.analytics.terms import TermFilter, extract_terms  # noqa: E402
from listening.analytics.topics import MIN_CLUSTER_POINTS, Clustering, fit_topics  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--brand", default="apple", choices=BRANDS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tweets = read_brand_tweets()
    ids = {name: i + 1 for i, name in enumerate(BRANDS)}
    own = [t for t in tweets if t.brand == args.brand]
    started = time.perf_counter()
    vectors = embed_texts([t.text for t in own])
    seconds = time.perf_counter() - started
    print(f"{len(own)} tweets about {args.brand} embedded in {seconds:.1f} s (CPU, float32)")
    authors = [t.id for t in own]
    co_brands = {}
    for t in own:
        words = {term.lstrip("#@") for term in extract_terms(t.text)}
        co_brands[t.id] = {ids[name] for name in BRANDS if name in words} | {ids[args.brand]}
    audience = Audience(
        brand_id=ids[args.brand],
        authors=authors,
        texts={t.id: [t.text] for t in own},
        embeddings={t.id: [vector.astype("<f4").tobytes()] for t, vector in zip(own, vectors, strict=True)},
        towards={t.id: Counter({t.sentiment: 1}) for t in own},
        co_brands=co_brands,
    )
    term_filter = TermFilter.for_queries([args.brand], [args.brand])
    fitted = fit_topics(
        vectorise(audience),
        [t.text for t in own],
        seed=args.seed,
        term_filter=term_filter,
        min_size=MIN_CLUSTER_POINTS,
        max_k=8,
    )
    result = Clustering(fitted.labels, fitted.k, None)
    competitors = [(ids[name], name) for name in BRANDS if name != args.brand]
    clusters = describe(
        audience,
        result,
        competitors=competitors,
        names={i: name for name, i in ids.items()},
        term_filter=term_filter,
    )
    chosen = fitted.selection
    print(f"k={result.k} ({chosen['method']}, bounds {chosen.get('bounds')}, score {chosen.get('score')})")
    for c in sorted(clusters, key=lambda c: -c["size"]):
        overlap = ", ".join(f"{o['name']} {o['share']:.0%}" for o in c["overlap"] if o["share"] > 0) or "none"
        print(
            f"cluster {c['index']}: {c['size']:>4} authors  net sentiment {c['sentiment']['net_sentiment']}  "
            f"label: {c['label']}  competitor overlap: {overlap}"
        )
        for kind in ("hashtags", "terms", "brands"):
            shown = ", ".join(f"{i['value']} (x{i['lift']:.1f})" for i in c["interests"][kind][:6]) or "-"
            print(f"    {kind:<8} {shown}")


if __name__ == "__main__":
    main()
