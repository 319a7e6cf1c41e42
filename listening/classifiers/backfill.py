"""Labelling the stored history when a classifier version becomes active (created or promoted).

``do_queue_backfill`` is called in the transaction of the promotion (``learning.services.do_promote``
through its registry hook); after the commit an ``enrich.classifier_backfill`` message reads one
bounded batch (``ENRICH_REREAD_BATCH``) of the organization's enriched mentions, newest id first,
from their current enrichment's embedding (no model pass), writes the labels and queues the next
batch after its cursor. A message for a version that is no longer active writes nothing and stops;
writes are upserts, so a duplicate message is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F

from listening.classifiers.apply import label_mentions, rows_for
from listening.jobs import Queue, TaskName, send_or_defer, send_or_defer_on_commit
from listening.learning.models import ModelStatus, ModelVersion
from listening.mentions.models import Enrichment, Mention

log = structlog.get_logger(__name__)


def do_queue_backfill(classifier_id: int) -> None:
    """After the commit, start labelling the history with the classifier's active version (if any)."""
    version = ModelVersion.objects.filter(classifier_id=classifier_id, status=ModelStatus.ACTIVE).first()
    if version is None:  # rolled back to nothing: its labels stay as the last version left them
        return
    send_or_defer_on_commit(
        TaskName.CLASSIFIER_BACKFILL, [version.pk, None], queue=Queue.ENRICH, reason="classifier backfill"
    )


@dataclass(frozen=True)
class BackfillStep:
    read: int
    cursor: int | None  # the next batch starts below this mention id; None: done


def do_backfill_batch(
    version_id: int, before_id: int | None, *, batch_size: int | None = None
) -> BackfillStep:
    """Label one batch of stored mentions with version ``version_id`` of a classifier, newest id
    first, below ``before_id`` (None: from the newest). Stops when the version is not active."""
    size = batch_size or int(settings.ENRICH_REREAD_BATCH)
    version = ModelVersion.objects.select_related("classifier").filter(pk=version_id).first()
    if version is None or version.status != ModelStatus.ACTIVE or version.classifier is None:
        log.info("classifier_backfill_stale", version_id=version_id)
        return BackfillStep(0, None)
    organization_id = version.organization_id
    assert organization_id is not None  # a classifier's versions are its organization's
    mentions = Mention.objects.filter(organization_id=organization_id, enriched_at__isnull=False)
    if before_id is not None:
        mentions = mentions.filter(pk__lt=before_id)
    ids = list(mentions.order_by("-pk").values_list("pk", flat=True)[:size])
    if not ids:
        log.info("classifier_backfill_done", version_id=version_id)
        return BackfillStep(0, None)
    # Each mention's current reading: the enrichment by the version it is labelled with.
    items = list(
        Enrichment.objects.filter(
            mention_id__in=ids, model_version_id=F("mention__model_version_id")
        ).values_list("mention_id", "embedding", "sentiment")
    )
    with transaction.atomic():
        written = label_mentions(organization_id, rows_for(items), [(version.classifier, version)])
    return BackfillStep(written, ids[-1] if len(ids) == size else None)


def continue_backfill(version_id: int, step: BackfillStep) -> None:
    """Queue the next batch of a backfill (called by the task after a batch)."""
    if step.cursor is not None:
        send_or_defer(
            TaskName.CLASSIFIER_BACKFILL,
            [version_id, step.cursor],
            queue=Queue.ENRICH,
            reason="classifier backfill",
        )
