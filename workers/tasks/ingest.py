from __future__ import annotations

from typing import Any

from celery import Task

from ingestion.connectors import ConnectorError
from ingestion.services import do_pull_source, due_sources
from listening.jobs import Queue, TaskName
from workers.celery_app import listening_task


@listening_task(
    name=TaskName.PULL_SOURCE,
    queue=Queue.INGEST,
    idempotent=True,  # pages are stored idempotently and the cursor moves only after a stored page
    soft_time_limit=600,
    bind=True,
    max_retries=8,
)
def pull_source(self: Task, source_id: int) -> dict[str, Any]:
    try:
        result = do_pull_source(source_id)
    except ConnectorError as exc:  # transient (5xx, timeouts): back off exponentially, capped
        raise self.retry(exc=exc, countdown=min(3600, 30 * 2**self.request.retries)) from exc
    return {"pages": result.pages, "stored": result.stored, "error": result.error}


@listening_task(name=TaskName.PULL_DUE, queue=Queue.INGEST, idempotent=True, soft_time_limit=60)
def pull_due() -> int:
    """Beat: enqueue a pull for every active source whose interval has passed."""
    sources = due_sources()
    for source_id in sources:
        pull_source.delay(source_id)
    return len(sources)
