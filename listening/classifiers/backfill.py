"""Labelling the stored history when a classifier version becomes active (created or promoted).

``do_queue_backfill`` is called in the transaction of the promotion (``learning.services.do_promote``
through its registry hook); after the commit an ``enrich.classifier_backfill`` message reads one
bounded batch (``ENRICH_REREAD_BATCH``) of the organization's enriched mentions, newest id first,
from their current enrichment's embedding (no model pass), writes the labels and queues the next
batch after its cursor. A message for a version that is no longer active writes nothing and stops;
writes are upserts, so a duplicate message is harmless. Each pass keeps its progress in a
:class:`ClassifierBackfill` row, so beat (:func:`do_resume_backfills`) sends again a pass that
stopped moving.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from listening.classifiers.apply import label_mentions, rows_for
from listening.classifiers.models import ClassifierBackfill
from listening.jobs import Queue, TaskName, send_or_defer, send_or_defer_on_commit
from listening.learning.models import ModelStatus, ModelVersion
from listening.mentions.models import Enrichment, Mention

log = structlog.get_logger(__name__)

# A pass whose last batch is older than this is sent again (a batch takes seconds: no model pass).
STALE_AFTER = timedelta(seconds=960)


def do_queue_backfill(classifier_id: int) -> None:
    """After the commit, start labelling the history with the classifier's active version (if any)."""
    versions = ModelVersion.objects.filter(classifier_id=classifier_id)
    # Whatever pass of this classifier was running is over: only the active version's goes on.
    ClassifierBackfill.objects.filter(
        version__in=versions.exclude(status=ModelStatus.ACTIVE), status=ClassifierBackfill.Status.RUNNING
    ).update(status=ClassifierBackfill.Status.SUPERSEDED, updated_at=timezone.now())
    version = versions.filter(status=ModelStatus.ACTIVE).first()
    if version is None:  # rolled back to nothing: its labels stay as the last version left them
        return
    assert version.organization_id is not None  # a classifier's versions are its organization's
    ClassifierBackfill.objects.update_or_create(
        version=version,
        defaults={
            "organization_id": version.organization_id,
            "status": ClassifierBackfill.Status.RUNNING,
            "cursor": None,
            "read": 0,
        },
    )
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
        ClassifierBackfill.objects.filter(
            version_id=version_id, status=ClassifierBackfill.Status.RUNNING
        ).update(status=ClassifierBackfill.Status.SUPERSEDED, updated_at=timezone.now())
        return BackfillStep(0, None)
    organization_id = version.organization_id
    assert organization_id is not None  # a classifier's versions are its organization's
    mentions = Mention.objects.filter(organization_id=organization_id, enriched_at__isnull=False)
    if before_id is not None:
        mentions = mentions.filter(pk__lt=before_id)
    ids = list(mentions.order_by("-pk").values_list("pk", flat=True)[:size])
    if not ids:
        log.info("classifier_backfill_done", version_id=version_id)
        with transaction.atomic():
            _record(version, 0, None)
        return BackfillStep(0, None)
    # Each mention's current reading: the enrichment by the version it is labelled with.
    items = list(
        Enrichment.objects.filter(
            mention_id__in=ids, model_version_id=F("mention__model_version_id")
        ).values_list("mention_id", "embedding", "sentiment")
    )
    cursor = ids[-1] if len(ids) == size else None
    with transaction.atomic():
        written = label_mentions(organization_id, rows_for(items), [(version.classifier, version)])
        _record(version, written, cursor)
    return BackfillStep(written, cursor)


def _record(version: ModelVersion, written: int, cursor: int | None) -> None:
    """Move the version's pass on (a pass made before progress was kept gets its row now)."""
    assert version.organization_id is not None
    job, _ = ClassifierBackfill.objects.select_for_update().get_or_create(
        version=version, defaults={"organization_id": version.organization_id}
    )
    job.read += written
    job.cursor = cursor
    job.status = ClassifierBackfill.Status.RUNNING if cursor is not None else ClassifierBackfill.Status.DONE
    job.save(update_fields=["read", "cursor", "status", "updated_at"])


def do_resume_backfills(now: datetime | None = None) -> list[int]:
    """Beat: send again, from its cursor, every running pass that has not moved for ``STALE_AFTER``;
    returns the versions' ids."""
    now = now or timezone.now()
    stalled = list(
        ClassifierBackfill.objects.filter(
            status=ClassifierBackfill.Status.RUNNING, updated_at__lt=now - STALE_AFTER
        ).values_list("version_id", "cursor")
    )
    for version_id, cursor in stalled:
        send_or_defer(
            TaskName.CLASSIFIER_BACKFILL, [version_id, cursor], queue=Queue.ENRICH, reason="stalled backfill"
        )
    if stalled:
        log.info("classifier_backfills_resumed", versions=[v for v, _ in stalled])
    return [v for v, _ in stalled]


def continue_backfill(version_id: int, step: BackfillStep) -> None:
    """Queue the next batch of a backfill (called by the task after a batch)."""
    if step.cursor is not None:
        send_or_defer(
            TaskName.CLASSIFIER_BACKFILL,
            [version_id, step.cursor],
            queue=Queue.ENRICH,
            reason="classifier backfill",
        )
