from __future__ import annotations

from typing import Any

from listening.jobs import Queue, TaskName, send_or_defer
from listening.learning.reread import do_reread_batch, do_resume_rereads
from listening.mentions.enrichment import analyze_texts, do_enrich_pending
from workers.celery_app import listening_task

# Mentions per task: a backlog is worked off in short tasks that hand over to a new message, so a
# worker's slot frees up often (shutdown, other organizations' messages) and a kill loses little.
PENDING_PER_TASK = 512


@listening_task(name=TaskName.ENRICH_PENDING, queue=Queue.ENRICH, idempotent=True, soft_time_limit=900)
def enrich_pending(organization_id: int | None = None) -> int:
    """Enrich what is waiting. Ingestion enqueues it after each commit; beat re-runs it every
    minute, which also covers messages lost while the broker was down."""
    done = do_enrich_pending(organization_id=organization_id, limit=PENDING_PER_TASK)
    if done >= PENDING_PER_TASK:  # there may be more: continue in a fresh message
        send_or_defer(enrich_pending, [organization_id], queue=Queue.ENRICH, reason="backlog")
    return done


# Idempotent: a batch is written only if its pass is still at the position it was read from.
@listening_task(name=TaskName.REREAD, queue=Queue.ENRICH, idempotent=True, soft_time_limit=900)
def reread(reread_id: int, version_id: int) -> int:
    """One batch of the history re-read after a promotion or rollback; queues the next batch."""
    step = do_reread_batch(reread_id, version_id)
    if step.more:
        send_or_defer(reread, [reread_id, version_id], queue=Queue.ENRICH, reason="history re-read")
    return step.read


@listening_task(name=TaskName.RESUME_REREADS, queue=Queue.MAINTENANCE, idempotent=True, soft_time_limit=60)
def resume_rereads() -> list[int]:
    """Beat: send again the re-read passes that stopped moving (a lost message, a killed worker)."""
    return do_resume_rereads()


@listening_task(
    name=TaskName.ANALYZE, queue=Queue.ANALYZE, idempotent=True, soft_time_limit=60, ignore_result=False
)
def analyze(texts: list[str], organization_id: int, kind: str | None = None) -> dict[str, Any]:
    """Score ad-hoc texts for ``POST /api/v1/analyze``; stores nothing. ``kind``: their source kind."""
    return analyze_texts(texts, organization_id, kind)
