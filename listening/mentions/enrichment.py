"""Enrichment: the active model version reads new mentions in batches.

Runs in ``enrich`` workers only (it imports torch through ``models``). Idempotent: a mention is
claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` (several workers split the backlog), one
Enrichment row per (mention, version) is written with conflicts ignored, and ``enriched_at`` marks
the mention done in the same transaction, so a worker killed mid-batch leaves the batch unclaimed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import structlog
from django.db import transaction
from django.utils import timezone

from listening.learning.models import ModelVersion
from listening.learning.registry import get_active_version
from listening.mentions.models import Enrichment, Mention, SourceKind
from listening.mentions.services import do_copy_sentiment_to_links
from listening.mentions.signals import mentions_enriched
from models.serving import shows_intent

if TYPE_CHECKING:
    from models.inference import ListeningModel, Predictions

log = structlog.get_logger(__name__)

DEFAULT_BATCH = 256


def load_version(version: ModelVersion) -> ListeningModel:
    """The loaded model for a registry row; cached per process by ``models.inference``."""
    from models.inference import load_model

    return load_model(version.artefact_path or None)


def predict(version: ModelVersion, texts: Sequence[str]) -> Predictions:
    return load_version(version).predict(list(texts))


# Probabilities are stored and returned with this many decimals.
PROB_DIGITS = 5


def served_fields(
    model: ListeningModel, predictions: Predictions, texts: Sequence[str], *, support: Sequence[bool]
) -> list[dict[str, Any]]:
    """What enrichment stores and ``/analyze`` returns for each text, in prediction order.

    ``texts`` are the texts the model read and ``support`` says, per text, whether it is a support
    transcript: intent is kept only where :func:`models.serving.shows_intent` allows it (support
    text, questions, complaints) and is None elsewhere, and so is ``intent_prob`` with it.
    """
    labels = model.label_maps
    rows = []
    for i, (text, is_support) in enumerate(zip(texts, support, strict=True)):
        sentiment = str(predictions.sentiment[i])
        intent = predictions.intent[i]
        if intent is not None and not shows_intent(text, support=is_support, sentiment=sentiment):
            intent = None
        intent_prob = None if intent is None else round(float(predictions.intent_prob[i]), PROB_DIGITS)
        rows.append(
            {
                "sentiment": sentiment,
                "sentiment_probs": _rounded(labels["sentiment"], predictions.sentiment_probs[i]),
                "emotion": str(predictions.emotion[i]),
                "emotion_probs": _rounded(labels["emotion"], predictions.emotion_probs[i]),
                "irony_prob": round(float(predictions.irony_prob[i]), PROB_DIGITS),
                "irony": bool(predictions.irony[i]),
                "intent": None if intent is None else str(intent),
                "intent_prob": intent_prob,
            }
        )
    return rows


def _rounded(labels: Sequence[str], probs: Sequence[float]) -> dict[str, float]:
    return {label: round(float(p), PROB_DIGITS) for label, p in zip(labels, probs, strict=True)}


def enrichment_rows(
    version: ModelVersion, mentions: Sequence[tuple[int, int]], predictions: Predictions
) -> list[Enrichment]:
    """Enrichment rows for (mention id, organization id) pairs in prediction order.

    Whether each may show an intent depends on its kind and text (:func:`served_fields`): both are
    read here in one query, so every writer (new mentions, the history re-read) applies the rule.
    """
    ids = [mention_id for mention_id, _ in mentions]
    read = {
        pk: (kind, model_text or clean_text)
        for pk, kind, model_text, clean_text in Mention.objects.filter(pk__in=ids).values_list(
            "pk", "kind", "model_text", "clean_text"
        )
    }
    # A mention deleted meanwhile shows no intent; the writer drops its row anyway.
    rows = [read.get(pk, ("", "")) for pk in ids]
    fields = served_fields(
        load_version(version),
        predictions,
        [text for _, text in rows],
        support=[kind == SourceKind.SUPPORT for kind, _ in rows],
    )
    return [
        Enrichment(
            organization_id=org_id,
            mention_id=mention_id,
            model_version=version,
            embedding=predictions.embedding[row].astype("<f4").tobytes(),
            **fields[row],
        )
        for row, (mention_id, org_id) in enumerate(mentions)
    ]


def store_enrichments(enrichments: Sequence[Enrichment]) -> list[int]:
    """Store readings and make them their mentions' current ones, in the caller's transaction.

    Writes the Enrichment rows (an existing (mention, version) row is kept), copies the labels onto
    the mentions and their brand links, and sends ``mentions_enriched``: rollups and the
    organization's custom classifiers (from the same embeddings) follow in the same transaction.
    Returns the mention ids. Enrichment of new mentions and the history re-read after a promotion
    (``listening.learning.reread``) both write through here.
    """
    now = timezone.now()
    Enrichment.objects.bulk_create(enrichments, ignore_conflicts=True)
    updates = [
        Mention(id=e.mention_id, sentiment=e.sentiment, model_version_id=e.model_version_id, enriched_at=now)
        for e in enrichments
    ]
    Mention.objects.bulk_update(updates, ["sentiment", "model_version", "enriched_at"], batch_size=1000)
    ids = [m.id for m in updates]
    do_copy_sentiment_to_links(ids)
    mentions_enriched.send(sender=Mention, mention_ids=ids, enrichments=enrichments)
    return ids


def do_enrich_pending(
    *, organization_id: int | None = None, limit: int = 4096, batch_size: int = DEFAULT_BATCH
) -> int:
    """Enrich up to ``limit`` unenriched mentions; returns how many were enriched.

    The active version is looked up for every batch, so a promotion or rollback takes effect on the
    next batch without restarting the worker.
    """
    done = 0
    while done < limit:
        with transaction.atomic():
            pending = Mention.objects.filter(enriched_at__isnull=True)
            if organization_id is not None:
                pending = pending.filter(organization_id=organization_id)
            claimed = list(
                pending.order_by("id")
                # NO KEY: a push linking a new duplicate to one of these (a FOR KEY SHARE check) need
                # not wait for the whole inference batch.
                .select_for_update(skip_locked=True, no_key=True)
                .values_list("id", "organization_id", "model_text", "clean_text")[
                    : min(batch_size, limit - done)
                ]
            )
            if not claimed:
                break
            by_org: dict[int, list[tuple[int, str]]] = defaultdict(list)
            for mention_id, org_id, model_text, clean_text in claimed:
                by_org[org_id].append((mention_id, model_text or clean_text))
            readings: list[Enrichment] = []
            for org_id, rows in by_org.items():
                version = get_active_version(org_id)
                predictions = predict(version, [text for _, text in rows])
                readings += enrichment_rows(
                    version, [(mention_id, org_id) for mention_id, _ in rows], predictions
                )
            store_enrichments(readings)
            done += len(claimed)
    if done:
        log.info("mentions_enriched", count=done, organization_id=organization_id)
    return done


def analyze_texts(
    texts: Sequence[str], organization_id: int | None, kind: str | None = None
) -> dict[str, Any]:
    """Score ad-hoc texts with the caller's active version, storing nothing.

    ``kind`` (a ``SourceKind`` value, optional) is the texts' source kind: with ``support`` every
    text may show an intent; otherwise only questions and complaints do.
    """
    version = get_active_version(organization_id)
    model = load_version(version)
    predictions = model.predict(list(texts))
    results = served_fields(model, predictions, texts, support=[kind == SourceKind.SUPPORT] * len(texts))
    return {"model_version": version.name, "results": results}
