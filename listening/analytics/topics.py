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
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import silhouette_score

from listening.analytics.terms import NO_FILTER, TermFilter, extract_terms, folded_words, phrases

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


def term_matrix(
    documents: Sequence[str], term_filter: TermFilter = NO_FILTER, min_df: int = 1
) -> tuple[Any, list[str]]:
    """Documents x terms counts (scipy CSR) of the terms ``term_filter`` allows that occur in at
    least ``min_df`` documents, and the terms."""
    vectorizer = CountVectorizer(
        analyzer=lambda text: [t for t in phrases(text) if term_filter.allows(t)], min_df=min_df
    )
    try:
        counts = vectorizer.fit_transform(documents).tocsr()
    except ValueError:  # no terms at all (empty or stop-word-only texts)
        return None, []
    return counts, [str(term) for term in vectorizer.get_feature_names_out()]


def class_terms(
    counts: Any, vocabulary: Sequence[str], labels: Sequence[int], top_n: int = 8
) -> dict[int, list[tuple[str, float]]]:
    """c-TF-IDF of a ``term_matrix``: the ``top_n`` terms of each class, best first (ties broken by
    term). A class's counts are its documents' rows added up, as if they were one document."""
    classes = sorted(set(int(label) for label in labels))
    if counts is None or not vocabulary:
        return {c: [] for c in classes}
    from scipy import sparse

    label_array = np.asarray(labels, dtype=np.int64)
    position = {c: i for i, c in enumerate(classes)}
    rows = np.array([position[int(label)] for label in label_array], dtype=np.int64)
    membership = sparse.csr_matrix(
        (np.ones(len(rows)), (rows, np.arange(len(rows)))), shape=(len(classes), len(rows))
    )
    per_class = np.asarray((membership @ counts).todense(), dtype=np.float64)
    words_per_class = per_class.sum(axis=1)
    average = words_per_class.mean() if len(words_per_class) else 0.0
    frequency = per_class.sum(axis=0)
    idf = np.log(1 + average / np.where(frequency == 0, 1, frequency))
    tf = per_class / np.where(words_per_class[:, None] == 0, 1, words_per_class[:, None])
    weights = tf * idf
    terms = np.asarray(vocabulary)
    out: dict[int, list[tuple[str, float]]] = {}
    for row, c in enumerate(classes):
        # lexsort: the last key is the primary one (weight descending), then the term.
        order = np.lexsort((terms, -weights[row]))[:top_n]
        out[c] = [(str(terms[j]), round(float(weights[row, j]), 5)) for j in order if weights[row, j] > 0]
    return out


def ctfidf_terms(
    documents: Sequence[str],
    labels: Sequence[int],
    top_n: int = 8,
    term_filter: TermFilter = NO_FILTER,
) -> dict[int, list[tuple[str, float]]]:
    """The ``top_n`` class-based TF-IDF terms (words and phrases ``term_filter`` allows) of each
    cluster, best first (ties broken by term)."""
    counts, vocabulary = term_matrix(documents, term_filter)
    return class_terms(counts, vocabulary, labels, top_n)


def label_of(terms: Sequence[tuple[str, float]], words: int = 4) -> str:
    """A topic's name: its best terms, leaving out a word already said by a better phrase and a
    word that a phrase among the terms stands for (:func:`terms.folded_words`)."""
    folded = folded_words(terms)
    picked: list[str] = []
    for term, _ in terms:
        if term in folded:
            continue
        said = {word for chosen in picked for word in chosen.split(" ")}
        if set(term.split(" ")) <= said:
            continue
        picked.append(term)
        if len(picked) == words:
            break
    return " · ".join(picked) or "(no distinctive terms)"


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


# --- topics that hold up: k by coherence and diversity, every point assigned ------------------

MIN_TOPIC_SIZE = 15  # a topic of fewer mentions (in the fitted sample) is an anecdote
MAX_TOPICS = 20  # beyond this a dashboard stops being read
K_CANDIDATES = 8  # at most this many values of k are fitted when choosing
QUALITY_TERMS = 10  # top terms per topic scored for coherence and diversity


@dataclass(frozen=True)
class TopicModel:
    """Topics fitted on a sample: ``labels`` of the sample, ``centroids`` to assign any other
    embedding (cosine), and how k was chosen (``selection``)."""

    labels: np.ndarray
    centroids: np.ndarray
    k: int
    terms: dict[int, list[tuple[str, float]]]  # c-TF-IDF of the sample, per topic
    selection: dict[str, Any]  # method, bounds, the chosen k's scores and every candidate's

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        """The nearest topic of each row (cosine), for the mentions the fit did not see."""
        if len(embeddings) == 0:
            return np.zeros(0, dtype=int)
        points = normalise(np.asarray(embeddings, dtype=np.float64))
        return np.asarray(points @ self.centroids.T).argmax(axis=1)


def k_bounds(n: int, *, min_size: int = MIN_TOPIC_SIZE, max_k: int = MAX_TOPICS) -> tuple[int, int]:
    """The floor and ceiling of k for ``n`` fitted points: at least ``min_size`` points per topic
    on average and at most ``max_k``; the floor grows with volume (about sqrt(n) / 10: 5 for 3,000
    points) so a large brand is not summed up in two topics."""
    ceiling = min(max_k, n // min_size)
    if ceiling < 2:
        return 1, 1
    floor = max(2, min(ceiling, round(math.sqrt(n) / 10)))
    return floor, ceiling


def npmi_matrix(binary: Any, topics: Sequence[Sequence[int]]) -> list[float]:
    """Mean NPMI of the term pairs of each topic (columns of a documents x terms 0/1 matrix),
    as ``npmi_coherence`` computes it from texts; a topic with fewer than two terms scores 0."""
    n = binary.shape[0]
    out = []
    for columns in topics:
        if len(columns) < 2 or n == 0:
            out.append(0.0)
            continue
        sub = binary[:, list(columns)]
        together = np.asarray((sub.T @ sub).todense(), dtype=np.float64) / n
        single = np.diag(together).copy()
        scores = []
        for a, b in combinations(range(len(columns)), 2):
            pab, pa, pb = together[a, b], single[a], single[b]
            if pa == 0 or pb == 0:
                continue
            if pab == 0:
                scores.append(-1.0)
            elif pab >= 1:
                scores.append(1.0)
            else:
                scores.append(math.log(pab / (pa * pb)) / -math.log(pab))
        out.append(float(np.mean(scores)) if scores else 0.0)
    return out


def fit_topics(
    embeddings: np.ndarray,
    documents: Sequence[str],
    *,
    k: int | None = None,
    seed: int = DEFAULT_SEED,
    term_filter: TermFilter = NO_FILTER,
    top_n: int = 8,
    min_size: int = MIN_TOPIC_SIZE,
    max_k: int = MAX_TOPICS,
) -> TopicModel:
    """Cluster ``embeddings`` (aligned with ``documents``) into topics and label them.

    With ``k=None``, k is chosen in ``k_bounds`` (at most ``K_CANDIDATES`` values, spread evenly)
    by topic quality = mean NPMI coherence x topic diversity of each candidate's top
    ``QUALITY_TERMS`` c-TF-IDF terms (Dieng et al. 2020): coherent topics that do not repeat one
    another. Silhouette, which it replaces, rewarded two broad clusters on real tweets. An explicit
    ``k`` is fitted as given (capped by the number of points)."""
    n = len(embeddings)
    if n == 0:
        return TopicModel(np.zeros(0, dtype=int), np.zeros((0, 0)), 0, {}, {"method": "none"})
    points = normalise(np.asarray(embeddings, dtype=np.float64))
    # A term of one or two mentions names nothing and co-occurs with nothing (NPMI -1 for every
    # pair): topics are described and scored by the terms of at least three, once there are enough.
    counts, vocabulary = term_matrix(documents, term_filter, min_df=3 if n >= 100 else 1)
    binary = None if counts is None else (counts > 0).astype(np.float64)
    floor, ceiling = k_bounds(n, min_size=min_size, max_k=max_k)
    if k is not None:
        candidates, method = [max(1, min(k, n))], "given"
    elif ceiling < 2:
        candidates, method = [1], "too_few_points"
    else:
        step = max(1, math.ceil((ceiling - floor + 1) / K_CANDIDATES))
        candidates, method = sorted({*range(floor, ceiling + 1, step), ceiling}), "npmi_x_diversity"
    scored: list[dict[str, Any]] = []
    best: tuple[float, int, np.ndarray, np.ndarray, dict[int, list[tuple[str, float]]]] | None = None
    for candidate in candidates:
        if candidate == 1:
            labels, centroids = np.zeros(n, dtype=int), points.mean(axis=0, keepdims=True)
        else:
            fitted = KMeans(n_clusters=candidate, random_state=seed, n_init=3).fit(points)
            labels, centroids = fitted.labels_.astype(int), fitted.cluster_centers_
        terms = class_terms(counts, vocabulary, labels.tolist(), max(top_n, QUALITY_TERMS))
        column = {term: j for j, term in enumerate(vocabulary)}
        tops = [[column[t] for t, _ in terms[c][:QUALITY_TERMS]] for c in sorted(terms)]
        coherence = npmi_matrix(binary, tops) if binary is not None else [0.0] * len(tops)
        npmi = float(np.mean(coherence)) if coherence else 0.0
        diversity = topic_diversity([[str(j) for j in top] for top in tops], QUALITY_TERMS)
        score = npmi * diversity
        scored.append(
            {
                "k": candidate,
                "npmi": round(npmi, 4),
                "diversity": round(diversity, 4),
                "score": round(score, 4),
            }
        )
        if best is None or score > best[0] + 1e-12:
            best = (score, candidate, labels, centroids, terms)
    assert best is not None
    _score, chosen, labels, centroids, terms = best
    chosen_scores = next(row for row in scored if row["k"] == chosen)
    return TopicModel(
        labels,
        normalise(np.asarray(centroids, dtype=np.float64)),
        chosen,
        {c: found[:top_n] for c, found in terms.items()},
        {
            "method": method,
            "bounds": [floor, ceiling],
            **{key: chosen_scores[key] for key in ("npmi", "diversity", "score")},
            "candidates": scored,
        },
    )
