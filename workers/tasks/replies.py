from __future__ import annotations

from typing import Any

from listening.jobs import Queue, TaskName
from listening.replies.generation import ReplyError, do_suggest_replies
from workers.celery_app import listening_task


# Idempotent enough: a redelivered message drafts a second set under a new request id, nothing else.
@listening_task(
    name=TaskName.GENERATE_REPLIES,
    queue=Queue.GENERATE,
    idempotent=True,
    soft_time_limit=120,
    ignore_result=False,
)
def generate_replies(mention_id: int, n: int, thread: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """Draft reply suggestions for ``POST /api/v1/mentions/{id}/replies``; an unanswerable request
    comes back as ``{"error": ...}`` for the view to answer 4xx."""
    try:
        return do_suggest_replies(mention_id, n, thread)
    except ReplyError as exc:
        return {"error": str(exc)}
