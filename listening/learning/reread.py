"""History re-read: after a promotion or rollback, the now-active version reads stored mentions again.

Without it a dashboard silently mixes two models: mentions enriched before the change keep the old
version's labels. ``do_queue_rereads`` is called by ``do_promote`` / ``do_rollback`` inside their
transaction: it supersedes the organization's running pass and records a new ``Reread`` for the
version that is active now; the first ``enrich.reread`` message is sent after the commit. Each
message reads one batch (``ENRICH_REREAD_BATCH``) of the organization's enriched mentions newest
first, down to ``since`` (``LEARNING_REREAD_DAYS``), and queues the next; ``enrich.resume_rereads``
(beat) sends again the passes that stopped moving (a lost message, a killed worker).

Safe to run twice, in any order. Inference happens outside any transaction; the batch is then
written only if its pass is still running, for the same version, at the same position it was read
from (compare-and-set on the ``Reread`` row, locked for the write). A duplicate message or a
superseded pass writes nothing and stops. The writes are enrichment's own
(``mentions.enrichment.store_enrichments``): Enrichment rows, the mentions' labels and brand links,
and the rollups through ``mentions_enriched``, all in the batch's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from listening.jobs import Queue, TaskName, send_or_defer
from listening.learning.models import ModelStatus, ModelVersion, Reread
from listening.learning.registry import get_active_version
from listening.mentions.enrichment import enrichment_rows, predict, store_enrichments
from listening.mentions.models import Enrichment, Mention
from listening.periods import DAY, floor_day
from listening.tenancy.models import Organization

log = structlog.get_logger(__name__)

REREAD_TASK = TaskName.REREAD
# A running pass that has not moved for this long has no live message (one task runs at most its
# 900 s soft limit plus 30 s): beat sends it again. A second chain would be harmless (see above).
STALE_AFTER = timedelta(seconds=960)


def reread_since(now: datetime) -> datetime | None:
    """The oldest publication time a pass started at ``now`` reads: the start of the UTC day
    ``LEARNING_REREAD_DAYS - 1`` days ago (today included), or None for all history. A day start,
    so the per-day version counts of analytics say exactly what the pass covers."""
    days = int(settings.LEARNING_REREAD_DAYS)
    return floor_day(now) - (days - 1) * DAY if days else None


def do_queue_rereads(organization_id: int | None) -> list[int]:
    """Start a history re-read wherever the active version may just have changed: in
    ``organization_id``, or (None: the shared version changed) in every organization without an
    active version of its own. Call it in the transaction that changed the registry; returns the
    new passes' ids, whose first messages go out once it commits."""
    now = timezone.now()
    with transaction.atomic():
        # One registry change at a time per organization: a concurrent one waits here, then sees
        # (and supersedes) this pass.
        organizations = Organization.objects.select_for_update(no_key=True).order_by("pk")
        if organization_id is not None:
            organizations = organizations.filter(pk=organization_id)
        locked = list(organizations.values_list("pk", flat=True))
        if organization_id is not None:
            targets = {org: get_active_version(org).pk for org in locked}
        else:
            own = ModelVersion.objects.filter(
                status=ModelStatus.ACTIVE,
                organization__isnull=False,
                classifier__isnull=True,
                task="sentiment",
            )
            shared = get_active_version(None).pk
            reads_own = set(own.values_list("organization_id", flat=True))
            targets = {org: shared for org in locked if org not in reads_own}
        Reread.objects.filter(organization_id__in=list(targets), status=Reread.Status.RUNNING).update(
            status=Reread.Status.SUPERSEDED, finished_at=now, updated_at=now
        )
        since = reread_since(now)
        created = Reread.objects.bulk_create(
            Reread(organization_id=org, version_id=version_id, since=since)
            for org, version_id in targets.items()
        )
    passes = [(job.pk, job.version_id) for job in created]
    transaction.on_commit(lambda: _send(passes, reason="registry change"))
    log.info("history_reread_queued", organization_id=organization_id, passes=len(passes))
    return [pk for pk, _ in passes]


def _send(passes: list[tuple[int, int]], *, reason: str) -> None:
    # enrich.resume_rereads sends a stalled pass again: a broker outage only delays it.
    for reread_id, version_id in passes:
        send_or_defer(REREAD_TASK, [reread_id, version_id], queue=Queue.ENRICH, reason=reason)


@dataclass(frozen=True)
class RereadStep:
    read: int  # mentions re-enriched by this call
    more: bool  # the pass goes on: queue the next batch


def _next_batch(job: Reread, size: int) -> list[tuple[int, datetime, str]]:
    """The next ``size`` enriched mentions of the pass not labelled by its version, newest first
    after its cursor, as (id, published_at, model input); the ``mention_org_time`` index order."""
    mentions = Mention.objects.filter(organization_id=job.organization_id, enriched_at__isnull=False).exclude(
        model_version_id=job.version_id
    )
    if job.since is not None:
        mentions = mentions.filter(published_at__gte=job.since)
    if job.cursor_published_at is not None and job.cursor_id is not None:
        at = job.cursor_published_at
        # (published_at, id) < cursor; the plain bound lets the index start at the cursor.
        mentions = mentions.filter(published_at__lte=at).filter(
            Q(published_at__lt=at) | Q(id__lt=job.cursor_id)
        )
    rows = mentions.order_by("-published_at", "-id").values_list(
        "id", "published_at", "model_text", "clean_text"
    )
    return [
        (pk, published_at, model_text or clean_text)
        for pk, published_at, model_text, clean_text in rows[:size]
    ]


def do_reread_batch(reread_id: int, version_id: int, *, batch_size: int | None = None) -> RereadStep:
    """Re-enrich the next batch of pass ``reread_id`` with version ``version_id``.

    A pass ends when a walk from the newest mention finds nothing left to read: reaching the
    oldest mention sends it back to the top once, for mentions that an enrichment batch begun
    before the promotion stored with the old version after the pass had gone by them.
    A missing, finished or superseded pass (or one of another version) is a normal outcome:
    nothing is written and the chain stops.
    """
    size = batch_size or int(settings.ENRICH_REREAD_BATCH)
    job = Reread.objects.select_related("version").filter(pk=reread_id).first()
    if job is None or job.status != Reread.Status.RUNNING or job.version_id != version_id:
        log.info("history_reread_stale_message", reread_id=reread_id, version_id=version_id)
        return RereadStep(0, False)
    version = job.version
    if get_active_version(job.organization_id).pk != version.pk:  # changed without do_queue_rereads
        Reread.objects.filter(pk=job.pk, status=Reread.Status.RUNNING).update(
            status=Reread.Status.SUPERSEDED, finished_at=timezone.now(), updated_at=timezone.now()
        )
        return RereadStep(0, False)
    rows = _next_batch(job, size)
    readings: list[Enrichment] = []
    if rows:  # the model runs outside any transaction: nothing is locked while it reads
        predictions = predict(version, [text for _, _, text in rows])
        readings = enrichment_rows(version, [(pk, job.organization_id) for pk, _, _ in rows], predictions)
    with transaction.atomic():
        # Compare and set: only the pass, version and position this batch was read from.
        claimed = list(
            Reread.objects.select_for_update()
            .filter(
                pk=job.pk,
                status=Reread.Status.RUNNING,
                version_id=version.pk,
                cursor_published_at=job.cursor_published_at,
                cursor_id=job.cursor_id,
            )
            .values_list("pk", flat=True)
        )
        if not claimed:
            log.info("history_reread_batch_dropped", reread_id=reread_id, reason="moved or superseded")
            return RereadStep(0, False)
        now = timezone.now()
        ids = [pk for pk, _, _ in rows]
        alive = set(
            Mention.objects.filter(pk__in=ids).select_for_update(no_key=True).values_list("pk", flat=True)
        )
        readings = [reading for reading in readings if reading.mention_id in alive]
        # The version's earlier reading of these mentions (before a promotion and a rollback) goes, so
        # the new one is each mention's newest Enrichment row, the one every reader shows.
        Enrichment.objects.filter(mention_id__in=alive, model_version=version).delete()
        store_enrichments(readings)
        fields: dict[str, object] = {"read": F("read") + len(readings), "updated_at": now}
        if rows:
            fields["cursor_published_at"], fields["cursor_id"] = rows[-1][1], rows[-1][0]
        elif job.cursor_id is not None:  # reached the oldest: one more walk from the top
            fields["cursor_published_at"] = fields["cursor_id"] = None
        else:  # a walk from the top found nothing left
            fields["status"], fields["finished_at"] = Reread.Status.DONE, now
        Reread.objects.filter(pk=job.pk).update(**fields)
    more = "status" not in fields
    log.info("history_reread_batch", reread_id=reread_id, read=len(readings), more=more)
    return RereadStep(len(readings), more)


def do_resume_rereads(now: datetime | None = None) -> list[int]:
    """Send again every running pass that has not moved for ``STALE_AFTER``; returns their ids."""
    now = now or timezone.now()
    stalled = list(
        Reread.objects.filter(status=Reread.Status.RUNNING, updated_at__lt=now - STALE_AFTER)
        .order_by("pk")
        .values_list("pk", "version_id")
    )
    _send(stalled, reason="stalled pass")
    return [pk for pk, _ in stalled]
