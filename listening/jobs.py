"""How the domain asks for background work: the queues, the task names, and sending by name.

Code under ``listening/`` and ``ingestion/`` never imports ``workers/`` (the task code, and through
it the model): it names the task it wants and this module sends the message through
``celery.current_app``. The project's Celery app (``workers.celery_app``) becomes the current app
when it is imported, which the ``workers`` Django app does at start-up in every process (web,
``manage.py``, tests, workers), so a message always goes to the configured broker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

import structlog
from celery import Task, current_app
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError

log = structlog.get_logger(__name__)


class Queue(StrEnum):
    """Queues by workload, so each is scaled by worker configuration, not code."""

    INGEST = "ingest"  # connector pulls, pushes, imports: I/O bound
    ENRICH = "enrich"  # the language model reading mentions: GPU hosts
    ANALYZE = "analyze"  # POST /analyze answers a waiting client: never queued behind batch enrichment
    GENERATE = "generate"  # reply suggestions for a waiting client: the decoder LLM, never behind batches
    TRAIN = "train"  # fine-tuning cycles: one GPU host, concurrency 1
    ALERTS = "alerts"  # spike checks and webhook deliveries
    REPORTS = "reports"  # scheduled reports, nightly clustering
    MAINTENANCE = "maintenance"  # heartbeats, housekeeping


class TaskName(StrEnum):
    """Every task's registered name: the tasks in ``workers/tasks/`` declare themselves by these,
    the beat schedule and the domain send by them."""

    PING = "maintenance.ping"
    HEARTBEAT = "maintenance.heartbeat"
    PULL_SOURCE = "ingest.pull_source"
    PULL_DUE = "ingest.pull_due"
    ENRICH_PENDING = "enrich.pending"
    REREAD = "enrich.reread"
    RESUME_REREADS = "enrich.resume_rereads"
    ANALYZE = "enrich.analyze"
    GENERATE_REPLIES = "generate.replies"
    CHECK_REPLY_TRIGGERS = "learning.check_reply_triggers"
    CHECK_RULES = "alerts.check_rules"
    CHECK_RULE = "alerts.check_rule"
    DELIVER = "alerts.deliver"
    DELIVER_DUE = "alerts.deliver_due"
    UPDATE_ROLLUPS = "analytics.update_rollups"
    BUILD_AFFINITIES = "analytics.build_affinities"
    BUILD_ALL_AFFINITIES = "analytics.build_all_affinities"
    REPORTS_SWEEP = "reports.sweep"
    RENDER_REPORT = "reports.render_run"
    CHECK_TRAINING_TRIGGERS = "learning.check_triggers"
    RUN_TRAINING_CYCLE = "learning.run_cycle"
    TRAIN_CLASSIFIER = "learning.train_classifier"
    CHECK_CLASSIFIER_TAGS = "learning.check_classifier_tags"
    CLASSIFIER_BACKFILL = "enrich.classifier_backfill"
    RESUME_CLASSIFIER_BACKFILLS = "enrich.resume_classifier_backfills"


def send(
    task: str | Task[Any, Any],
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    *,
    queue: str | None,
    expires: float | None = None,
) -> str:
    """Send one message now and return its task id; a broker error propagates.

    ``expires`` (seconds): a worker that receives the message later discards it unrun. For work
    only a waiting client wants: once it has given up, running it would only delay the next one.

    ``task`` is a name (callers below ``workers/``) or a task object (the task modules themselves).
    ``queue=None`` leaves the choice to Celery's routing (the default queue for a name). In eager
    mode (``CELERY_TASK_ALWAYS_EAGER``) a named task runs here, as a task object would.
    """
    options: dict[str, Any] = {"args": list(args), "kwargs": dict(kwargs or {})}
    if queue is not None:
        options["queue"] = queue
    if expires is not None:
        options["expires"] = expires
    if isinstance(task, str):
        task, app = str(task), current_app  # a TaskName travels as the plain string
        if app.conf.task_always_eager:
            app.loader.import_default_modules()  # the task bodies, which eager mode runs in-process
            registered = app.tasks.get(task)
            if registered is not None:
                return str(registered.apply_async(**options).id)
        return str(app.send_task(task, **options).id)
    return str(task.apply_async(**options).id)


def send_or_defer(task: str | Task[Any, Any], args: Sequence[Any], *, queue: Queue, reason: str) -> bool:
    """Send a task whose work a periodic re-scan also finds; if the broker is down, log and move on.

    For enqueues that are an optimisation of a re-scan (enrich what was just stored, deliver what
    was just created): the rows are already committed, so a lost message delays the work by one
    re-scan interval instead of failing the request that stored them.
    """
    try:
        send(task, args, queue=queue.value)
    except BrokerError as exc:
        name = task if isinstance(task, str) else task.name
        log.warning("enqueue_deferred_to_rescan", task=name, reason=reason, error=str(exc))
        return False
    return True


def send_or_defer_on_commit(task: str, args: Sequence[Any], *, queue: Queue, reason: str) -> None:
    """:func:`send_or_defer` once the current transaction commits (at once outside one), so a worker
    never looks for a row that is not there yet."""

    def enqueue() -> None:
        send_or_defer(task, args, queue=queue, reason=reason)

    transaction.on_commit(enqueue)
