from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import structlog
from celery.signals import worker_ready
from django.conf import settings

from listening.jobs import Queue, TaskName
from listening.replies.generation import ReplyError, do_suggest_replies
from listening.replies.services import do_check_reply_triggers
from workers.celery_app import listening_task

log = structlog.get_logger(__name__)


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


def warm_decoder(queues: Iterable[str]) -> threading.Thread | None:
    """Load the shipped decoder in a background thread if ``queues`` include the generate queue.

    The first load dequantises the GGUF into the model cache (tens of seconds on a CPU); a request
    that arrives meanwhile waits on the loader's lock instead of loading a second copy.
    """
    if not settings.REPLIES_WARM_DECODER or Queue.GENERATE.value not in set(queues):
        return None

    def load() -> None:
        from models.generation.decoder import load_decoder  # torch: generate workers only

        try:
            decoder = load_decoder()
        except Exception as exc:  # a broken model must not stop the worker: requests report it
            log.warning("decoder_warm_up_failed", error=f"{type(exc).__name__}: {exc}")
        else:
            log.info("decoder_warm", version=decoder.version, device=str(decoder.device))

    thread = threading.Thread(target=load, name="decoder-warm-up", daemon=True)
    thread.start()
    return thread


@worker_ready.connect
def _warm_decoder_on_start(sender: Any, **kwargs: Any) -> None:
    # The queues this worker consumes: those -Q named, else every declared one.
    warm_decoder(sender.app.amqp.queues.consume_from)
