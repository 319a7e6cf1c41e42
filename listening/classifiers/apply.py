"""Applying custom classifiers to mentions from the embedding enrichment already computed.

:func:`label_enrichments` is enrichment's one hook (``mentions.enrichment.store_enrichments``): new
mentions and the history re-read get their labels in the same batch and transaction, from the
embedding of the same forward pass. :func:`label_mentions` is the writer both it and the backfill
(:mod:`listening.classifiers.backfill`) use. No torch: a head is a few matrix products in numpy.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db.models import Q

from listening.classifiers.models import Classifier, ClassifierReading, MentionLabel
from listening.learning.models import ModelStatus, ModelVersion
from listening.mentions.models import BrandMention, Enrichment, Mention, Sentiment
from models.classifiers import LabelHead, load_head, uncertainty

PROB_DIGITS = 4


@functools.lru_cache(maxsize=256)
def _head(path: str, checksum: str) -> LabelHead:
    # Keyed on the checksum too: a path is never rewritten, but a test may reuse one.
    return load_head(path)


def head_of(version: ModelVersion) -> LabelHead:
    """The loaded head of a classifier version (cached per process; files verified on first load)."""
    return _head(version.artefact_path, version.checksum)


def active_classifiers(organization_id: int) -> list[tuple[Classifier, ModelVersion]]:
    """The organization's classifiers that have an active version, with it."""
    versions = ModelVersion.objects.filter(
        organization_id=organization_id, classifier__isnull=False, status=ModelStatus.ACTIVE
    ).select_related("classifier")
    return [(v.classifier, v) for v in versions if v.classifier is not None]


@dataclass(frozen=True)
class Row:
    mention_id: int
    embedding: np.ndarray
    sentiment: str
    kind: str
    published_at: datetime
    brand_ids: frozenset[int]


def in_scope(classifier: Classifier, row: Row) -> bool:
    scope = classifier.scope
    if scope == Classifier.Scope.NEGATIVE:
        return row.sentiment == Sentiment.NEGATIVE
    if scope == Classifier.Scope.BRAND:
        return classifier.brand_id in row.brand_ids
    if scope == Classifier.Scope.SOURCE_KIND:
        return row.kind == classifier.source_kind
    return True


def rows_for(mention_embeddings: Sequence[tuple[int, bytes | memoryview | None, str]]) -> list[Row]:
    """(mention id, embedding bytes, sentiment) → rows with the mentions' kinds, times and brands."""
    ids = [pk for pk, _, _ in mention_embeddings]
    meta = {
        pk: (kind, published_at)
        for pk, kind, published_at in Mention.objects.filter(pk__in=ids).values_list(
            "pk", "kind", "published_at"
        )
    }
    brands: dict[int, set[int]] = defaultdict(set)
    for mention_id, brand_id in BrandMention.objects.filter(mention_id__in=ids).values_list(
        "mention_id", "brand_id"
    ):
        brands[mention_id].add(brand_id)
    return [
        Row(
            pk,
            np.frombuffer(bytes(blob), dtype="<f4"),
            sentiment,
            meta[pk][0],
            meta[pk][1],
            frozenset(brands[pk]),
        )
        for pk, blob, sentiment in mention_embeddings
        if pk in meta and blob
    ]


def label_mentions(
    organization_id: int,
    rows: Sequence[Row],
    targets: Iterable[tuple[Classifier, ModelVersion]] | None = None,
) -> int:
    """Run each active classifier (or ``targets``) on the rows in its scope and store the result as
    the mentions' current readings and labels (replacing earlier ones). Returns readings written.
    A mention that left a classifier's scope (its sentiment changed) loses that classifier's labels."""
    written = 0
    for classifier, version in targets if targets is not None else active_classifiers(organization_id):
        head = head_of(version)
        scoped = [row for row in rows if in_scope(classifier, row)]
        ids = [row.mention_id for row in rows]
        MentionLabel.objects.filter(classifier=classifier, mention_id__in=ids).delete()
        ClassifierReading.objects.filter(classifier=classifier, mention_id__in=ids).exclude(
            mention_id__in=[row.mention_id for row in scoped]
        ).delete()
        if not scoped:
            continue
        probs = head.probabilities(np.vstack([row.embedding for row in scoped]))
        answers = head.assign(probs)
        doubt = uncertainty(probs, head.multi_label)
        readings = [
            ClassifierReading(
                organization_id=organization_id,
                classifier=classifier,
                mention_id=row.mention_id,
                model_version=version,
                labels=answer,
                scores={
                    label: round(float(p), PROB_DIGITS)
                    for label, p in zip(head.labels, probs[i], strict=True)
                },
                uncertainty=float(doubt[i]),
                published_at=row.published_at,
            )
            for i, (row, answer) in enumerate(zip(scoped, answers, strict=True))
        ]
        ClassifierReading.objects.bulk_create(
            readings,
            update_conflicts=True,
            unique_fields=["classifier", "mention"],
            update_fields=["model_version", "labels", "scores", "uncertainty", "published_at"],
        )
        MentionLabel.objects.bulk_create(
            MentionLabel(
                organization_id=organization_id,
                classifier=classifier,
                mention_id=row.mention_id,
                label=label,
                published_at=row.published_at,
            )
            for row, answer in zip(scoped, answers, strict=True)
            for label in answer
        )
        written += len(readings)
    return written


def label_enrichments(enrichments: Sequence[Enrichment]) -> int:
    """Enrichment's hook: label the just-enriched mentions with every active classifier of their
    organizations, reusing each enrichment's embedding. Returns readings written."""
    by_org: dict[int, list[tuple[int, bytes | memoryview | None, str]]] = defaultdict(list)
    for e in enrichments:
        by_org[e.organization_id].append((e.mention_id, e.embedding, e.sentiment))
    written = 0
    for organization_id, items in by_org.items():
        if not ModelVersion.objects.filter(
            Q(organization_id=organization_id), classifier__isnull=False, status=ModelStatus.ACTIVE
        ).exists():
            continue
        written += label_mentions(organization_id, rows_for(items))
    return written
