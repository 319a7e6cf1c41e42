"""Enrichment: the active model version reads new mentions in batches.

Runs in ``enrich`` workers only (it imports torch through ``models``). Idempotent: a batch is
claimed with a lease (``SELECT ... FOR UPDATE SKIP LOCKED`` stamps ``enrich_claimed_at`` and commits,
so several workers split the backlog and no lock is held during inference), one Enrichment row per
(mention, version) is written with conflicts ignored, and ``enriched_at`` marks the mention done in
the write's transaction, which checks the lease is still its own; a worker killed mid-batch leaves
its claim to expire (``ENRICH_LEASE_SECONDS``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from listening.bulk import insert_rows
from listening.learning.models import ModelVersion
from listening.learning.registry import get_active_version
from listening.mentions.models import Enrichment, Mention, SourceKind
from listening.mentions.services import do_set_link_sentiments
from listening.mentions.signals import mentions_enriched
from models.serving import shows_intent
from models.stages import stage

if TYPE_CHECKING:
    from models.inference import ListeningModel, Predictions

log = structlog.get_logger(__name__)

# Mentions per claim, and so per write transaction and per rollup fold. The claim holds no lock
# during inference, so a large one costs pushes nothing, and fewer, larger writes cost less per
# mention (the model reads 64 at a time).
DEFAULT_BATCH = 512


def load_version(version: ModelVersion) -> ListeningModel:
    """The loaded model for a registry row; cached per process by ``models.inference``."""
    from models.inference import load_model

    return load_model(version.artefact_path or None)


def predict(version: ModelVersion, texts: Sequence[str]) -> Predictions:
    return load_version(version).predict(list(texts))


# The columns an enrichment reading writes (all but the id).
ENRICHMENT_FIELDS = tuple(f for f in Enrichment._meta.concrete_fields if not f.primary_key)
ENRICHMENT_COLUMNS = tuple(f.name for f in ENRICHMENT_FIELDS)

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
    with stage("write"):
        # What the rollups counted of the mentions read before (a history re-read): their labels
        # move there, where a first reading adds the mention whole.
        earlier = {
            pk: (sentiment, version_id)
            for pk, sentiment, version_id in Mention.objects.filter(
                pk__in=[e.mention_id for e in enrichments], enriched_at__isnull=False
            ).values_list("pk", "sentiment", "model_version_id")
        }
        # A plain multi-row INSERT: bulk_create's per-value SQL building was half of this stage.
        insert_rows(
            Enrichment,
            ENRICHMENT_COLUMNS,
            [
                tuple(
                    now if field.name == "created_at" else getattr(e, field.attname)
                    for field in ENRICHMENT_FIELDS
                )
                for e in enrichments
            ],
            skip_conflicts_on=("mention", "model_version"),  # an existing (mention, version) row is kept
        )
        # One UPDATE per (sentiment, version): a batch has a few of them, and a plain SET is far
        # cheaper for PostgreSQL than bulk_update's CASE over every id for every column.
        by_label: dict[tuple[str, int | None], list[int]] = defaultdict(list)
        for e in enrichments:
            by_label[(e.sentiment, e.model_version_id)].append(e.mention_id)
        by_sentiment: dict[str, list[int]] = defaultdict(list)
        for (sentiment, version_id), mention_ids in by_label.items():
            Mention.objects.filter(pk__in=mention_ids).update(
                sentiment=sentiment, model_version_id=version_id, enriched_at=now, enrich_claimed_at=None
            )
            by_sentiment[sentiment] += mention_ids
        ids = [e.mention_id for e in enrichments]
        do_set_link_sentiments(by_sentiment)
    with stage("signals"):  # rollups (marked "rollups" inside), custom classifiers, first audiences
        mentions_enriched.send(sender=Mention, mention_ids=ids, enrichments=enrichments, earlier=earlier)
    return ids


def enrich_lease() -> timedelta:
    """How long a claim holds its mentions (``ENRICH_LEASE_SECONDS``)."""
    return timedelta(seconds=float(settings.ENRICH_LEASE_SECONDS))


def claim_pending(organization_id: int | None, count: int) -> tuple[datetime, list[tuple[int, int, str]]]:
    """Claim up to ``count`` unread mentions nobody holds, in a short transaction of its own.

    Returns the claim's stamp and (mention id, organization id, model text) rows. The stamp is the
    lease: other workers skip these mentions until it is ``ENRICH_LEASE_SECONDS`` old, and
    :func:`store_claimed` writes only where it is still this claim's.
    """
    stamp = timezone.now()
    with stage("claim"), transaction.atomic():
        pending = Mention.objects.filter(enriched_at__isnull=True).filter(
            Q(enrich_claimed_at__isnull=True) | Q(enrich_claimed_at__lt=stamp - enrich_lease())
        )
        if organization_id is not None:
            pending = pending.filter(organization_id=organization_id)
        rows = list(
            pending.order_by("id")
            # SKIP LOCKED: concurrent claimers split the backlog instead of queueing on each other.
            .select_for_update(skip_locked=True, no_key=True)
            .values_list("id", "organization_id", "model_text", "clean_text")[:count]
        )
        if rows:
            Mention.objects.filter(pk__in=[row[0] for row in rows]).update(enrich_claimed_at=stamp)
    return stamp, [(pk, org_id, model_text or clean_text) for pk, org_id, model_text, clean_text in rows]


def store_claimed(stamp: datetime, readings: Sequence[Enrichment]) -> list[int]:
    """Write the readings of a claim whose lease still holds; returns the mention ids written.

    Compare-and-set: a mention read meanwhile by someone else (its lease expired and was taken, or
    it was enriched) is left as they wrote it. The rows are locked in id order, so two writers
    never deadlock.
    """
    with transaction.atomic():
        held = set(
            Mention.objects.filter(
                pk__in=[e.mention_id for e in readings], enriched_at__isnull=True, enrich_claimed_at=stamp
            )
            .order_by("pk")
            .select_for_update(no_key=True)
            .values_list("pk", flat=True)
        )
        return store_enrichments([e for e in readings if e.mention_id in held])


def do_enrich_pending(
    *, organization_id: int | None = None, limit: int = 4096, batch_size: int = DEFAULT_BATCH
) -> int:
    """Enrich up to ``limit`` unenriched mentions; returns how many were enriched.

    Each batch is claimed and committed first (:func:`claim_pending`), read by the model outside any
    transaction, then written in one short transaction (:func:`store_claimed`): a push linking a
    duplicate to a claimed mention never waits for inference. A worker killed mid-batch leaves
    its claim to expire. The active version is looked up for every batch, so a promotion or
    rollback takes effect on the next batch without restarting the worker.
    """
    done = 0
    while done < limit:
        stamp, claimed = claim_pending(organization_id, min(batch_size, limit - done))
        if not claimed:
            break
        by_org: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for mention_id, org_id, text in claimed:
            by_org[org_id].append((mention_id, text))
        readings: list[Enrichment] = []
        for org_id, rows in by_org.items():
            version = get_active_version(org_id)
            predictions = predict(version, [text for _, text in rows])
            with stage("rows"):
                readings += enrichment_rows(
                    version, [(mention_id, org_id) for mention_id, _ in rows], predictions
                )
        store_claimed(stamp, readings)
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
