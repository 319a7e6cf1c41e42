from __future__ import annotations

from typing import Any

from listening.jobs import Queue, TaskName
from listening.replies.generation import ReplyError, do_suggest_replies
from listening.replies.services import do_check_reply_triggers
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


@listening_task(
    name=TaskName.CHECK_REPLY_TRIGGERS, queue=Queue.MAINTENANCE, idempotent=True, soft_time_limit=120
)
def check_reply_triggers() -> list[int]:
    """Beat: queue a reply-model cycle wherever enough new pairs arrived, then run it on the train
    queue (the learning cycle task, which runs a ``replies`` cycle as the reply cycle)."""
    from workers.tasks.learning import run_cycle

    cycles = do_check_reply_triggers()
    for cycle_id in cycles:
        run_cycle.delay(cycle_id)
    return cycles
