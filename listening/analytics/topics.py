"""Clustering texts by embedding and naming the clusters, as BERTopic does (no Django here).

* ``cluster`` groups L2-normalised embeddings with scikit-learn's KMeans under a fixed seed, so the
  same input gives the same clusters. ``k`` is chosen by the silhouette score over a small range
  (a sample of points is scored, also seeded), unless the caller fixes it.
* ``ctfidf_terms`` labels clusters with class-based TF-IDF (Grootendorst 2022): the documents of a
  class are joined into one; a term weighs ``tf(t, c) · log(1 + A / f(t))`` with ``A`` the average
  number of words per class and ``f(t)`` the term's frequency over all classes.
* ``npmi_coherence`` and ``topic_diversity`` score a set of topics (quality benchmarks).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import silhouette_score

from listening.analytics.terms import extract_terms, tokens

DEFAULT_SEED = 0
MIN_CLUSTER_POINTS = 5  # fewer points than this per cluster on average is noise, not a topic
MAX_K = 12
SILHOUETTE_SAMPLE = 2_000


@dataclass(frozen=True)
class Clustering:
    labels: np.ndarray  # cluster index per point
    k: int
    silhouette: float | None


def decode_embedding(raw: bytes | memoryview) -> np.ndarray:
    """``Enrichment.embedding`` bytes (float32 little-endian) as a vector."""
    return np.frombuffer(bytes(raw), dtype="<f4")


def normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def cluster(
    embeddings: np.ndarray, *, k: int | None = None, seed: int = DEFAULT_SEED, max_k: int = MAX_K
) -> Clustering:
    """Cluster rows of ``embeddings``; with ``k=None`` pick k in ``2..max_k`` by silhouette.

    Fewer than ``2 * MIN_CLUSTER_POINTS`` points give one cluster (there is nothing to split).
    """
    n = len(embeddings)
    if n == 0:
        return Clustering(np.zeros(0, dtype=int), 0, None)
    points = normalise(np.asarray(embeddings, dtype=np.float64))
    upper = min(max_k, n // MIN_CLUSTER_POINTS)
    if k is None and upper < 2:
        return Clustering(np.zeros(n, dtype=int), 1, None)
    candidates = [min(k, n)] if k is not None else list(range(2, upper + 1))
    best: Clustering | None = None
    for candidate in candidates:
        if candidate < 2:
            return Clustering(np.zeros(n, dtype=int), 1, None)
        labels = KMeans(n_clusters=candidate, random_state=seed, n_init=4).fit_predict(points)
        if len(set(labels.tolist())) < 2:
            continue
        score = float(
            silhouette_score(
                points, labels, metric="cosine", sample_size=min(SILHOUETTE_SAMPLE, n), random_state=seed
            )
        )
        if best is None or (best.silhouette is not None and score > best.silhouette):
            best = Clustering(labels, candidate, score)
    return best or Clustering(np.zeros(n, dtype=int), 1, None)


def _analyzer(text: str) -> list[str]:
    return tokens(text)


def ctfidf_terms(
    documents: Sequence[str], labels: Sequence[int], top_n: int = 8
) -> dict[int, list[tuple[str, float]]]:
    """The ``top_n`` class-based TF-IDF terms of each cluster, best first (ties broken by term)."""
    classes = sorted(set(int(label) for label in labels))
    joined = [
        " ".join(doc for doc, label in zip(documents, labels, strict=True) if label == c) for c in classes
    ]
    vectorizer = CountVectorizer(analyzer=_analyzer)
    try:
        counts = vectorizer.fit_transform(joined).toarray().astype(np.float64)
    except ValueError:  # no terms at all (empty or stop-word-only texts)
        return {c: [] for c in classes}
    vocabulary = vectorizer.get_feature_names_out()
    words_per_class = counts.sum(axis=1)
    average = words_per_class.mean() if len(words_per_class) else 0.0
    frequency = counts.sum(axis=0)
    idf = np.log(1 + average / np.where(frequency == 0, 1, frequency))
    tf = counts / np.where(words_per_class[:, None] == 0, 1, words_per_class[:, None])
    weights = tf * idf
    out: dict[int, list[tuple[str, float]]] = {}
    for row, c in enumerate(classes):
        order = sorted(range(len(vocabulary)), key=lambda j: (-weights[row, j], vocabulary[j]))
        out[c] = [
            (str(vocabulary[j]), round(float(weights[row, j]), 5))
            for j in order[:top_n]
            if weights[row, j] > 0
        ]
    return out


def label_of(terms: Sequence[tuple[str, float]], words: int = 4) -> str:
    return " · ".join(term for term, _ in terms[:words]) or "(no distinctive terms)"


def npmi_coherence(topics: Sequence[Sequence[str]], documents: Sequence[str], top_n: int = 10) -> float:
    """Mean NPMI of the top-term pairs of each topic, with document co-occurrence in ``documents``.

    NPMI(a, b) = log(p(a,b) / (p(a) p(b))) / -log p(a,b), in [-1, 1]; a pair never seen together
    scores -1. Higher is more coherent.
    """
    doc_terms = [set(extract_terms(doc)) for doc in documents]
    n = len(doc_terms)
    if n == 0:
        return 0.0
    scores = []
    for topic in topics:
        words = list(topic[:top_n])
        for a, b in combinations(words, 2):
            pa = sum(a in d for d in doc_terms) / n
            pb = sum(b in d for d in doc_terms) / n
            pab = sum(a in d and b in d for d in doc_terms) / n
            if pa == 0 or pb == 0:
                continue
            if pab == 0:
                scores.append(-1.0)
            elif pab == 1:
                scores.append(1.0)
            else:
                scores.append(math.log(pab / (pa * pb)) / -math.log(pab))
    return float(np.mean(scores)) if scores else 0.0


def topic_diversity(topics: Sequence[Sequence[str]], top_n: int = 10) -> float:
    """Share of unique words among all topics' top ``top_n`` words (1 = no topic repeats another)."""
    words = [word for topic in topics for word in topic[:top_n]]
    return len(set(words)) / len(words) if words else 0.0
