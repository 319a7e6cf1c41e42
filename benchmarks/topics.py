"""Topic quality on real brand tweets: NPMI coherence, diversity, purity and seed stability.

    python -m benchmarks.topics [--seed 0]

Embeds the SemEval-2017 brand tweets with the packaged all-MiniLM-L6-v2 (CPU), clusters them as the
topics endpoint does (KMeans, k by silhouette or fixed), labels clusters by c-TF-IDF and prints one
line per method, side by side with a random-assignment baseline of the same k.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np

from benchmarks.brand_tweets import BRANDS, read_brand_tweets
from listening.analytics.embedding import embed_texts
from listening.analytics.topics import cluster, ctfidf_terms, npmi_coherence, topic_diversity


def purity(labels: list[int], truth: list[str]) -> float:
    """Share of points whose cluster's majority class is their own class."""
    majority = 0
    for c in set(labels):
        majority += Counter(t for t, label in zip(truth, labels, strict=True) if label == c).most_common(1)[
            0
        ][1]
    return majority / len(labels)


def report(
    name: str, labels: list[int], docs: list[str], truth: list[str], seconds: float, stable: str
) -> None:
    terms = ctfidf_terms(docs, labels, top_n=10)
    topics = [[t for t, _ in terms[c]] for c in sorted(terms)]
    print(
        f"{name:<28} k={len(set(labels)):>2}  NPMI={npmi_coherence(topics, docs):+.3f}  "
        f"diversity={topic_diversity(topics):.3f}  purity={purity(labels, truth):.3f}  "
        f"stable_under_seed={stable:<3}  {seconds * 1000:>7.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tweets = read_brand_tweets()
    docs, truth = [t.text for t in tweets], [t.brand for t in tweets]
    started = time.perf_counter()
    vectors = embed_texts(docs)
    print(f"{len(docs)} tweets about {len(BRANDS)} brands embedded in {time.perf_counter() - started:.1f} s")
    for name, k in (("kmeans k by silhouette", None), (f"kmeans k={len(BRANDS)}", len(BRANDS))):
        started = time.perf_counter()
        result = cluster(vectors, k=k, seed=args.seed)
        seconds = time.perf_counter() - started
        again = cluster(vectors, k=k, seed=args.seed)
        stable = "yes" if np.array_equal(result.labels, again.labels) else "NO"
        report(name, result.labels.tolist(), docs, truth, seconds, stable)
        rng = np.random.default_rng(args.seed)
        random_labels = rng.integers(0, result.k, size=len(docs)).tolist()
        report(f"random baseline k={result.k}", random_labels, docs, truth, 0.0, "-")
    report("true brands (oracle)", [BRANDS.index(t) for t in truth], docs, truth, 0.0, "-")


if __name__ == "__main__":
    main()
