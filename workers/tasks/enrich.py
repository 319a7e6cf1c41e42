from __future__ import annotations

from typing import Any

from listening.mentions.enrichment import analyze_texts, do_enrich_pending
from workers.celery_app import listening_task
from workers.queues import Queue


@listening_task(name="enrich.pending", queue=Queue.ENRICH, idempotent=True, soft_time_limit=900)
def enrich_pending(organization_id: int | None = None) -> int:
    """Enrich what is waiting. Ingestion enqueues it after each commit; beat re-runs it every
    minute, which also covers messages lost while the broker was down."""
    return do_enrich_pending(organization_id=organization_id)


@listening_task(
    name="enrich.analyze", queue=Queue.ENRICH, idempotent=True, soft_time_limit=60, ignore_result=False
)
def analyze(texts: list[str], organization_id: int) -> dict[str, Any]:
    """Score ad-hoc texts for ``POST /api/v1/analyze``; stores nothing."""
    return analyze_texts(texts, organization_id)
