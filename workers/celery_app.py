"""The one Celery app. JSON only; late acks for idempotent tasks; time limits on purpose.

Delivery semantics, for idempotent tasks (``listening_task(idempotent=True)``):

- late acks + reject on worker lost: a worker killed mid-task gets the message delivered again;
- every start is counted in the database; start number ``TASK_MAX_DELIVERIES + 1`` of one message
  is dead-lettered instead of run, so a message that kills its worker cannot loop forever;
- transient database errors (connection lost, server restarting) retry with exponential backoff
  and jitter; a task that still fails after its retries leaves a dead letter too.
"""

from __future__ import annotations

import gc
import importlib
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import structlog
from celery import Celery, Task, signals
from celery.utils.time import get_exponential_backoff_interval
from django.db import DatabaseError, InterfaceError, OperationalError
from kombu import Queue as KombuQueue

from listening.jobs import Queue, TaskName

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "listening.settings")

log = structlog.get_logger(__name__)

# Errors that say "try again later", not "this input is wrong": the database went away.
TRANSIENT_DB_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)


class ListeningTask(Task[Any, Any]):
    """Counts the starts of late-acked messages and dead-letters poison and exhausted ones."""

    def _delivery_key(self) -> str | None:
        request = self.request
        if not self.acks_late or request.called_directly or request.is_eager or not request.id:
            return None  # acked before running (at most once) or run in-process: nothing redelivers
        return f"{request.id}:{request.retries}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = self._delivery_key()
        if key is not None:
            from django.conf import settings

            from listening.operations.services import do_count_delivery

            try:
                deliveries = do_count_delivery(key, self.name)
            except TRANSIENT_DB_ERRORS as exc:
                raise self.retry(exc=exc, countdown=_backoff(self.request.retries)) from exc
            if deliveries > int(settings.TASK_MAX_DELIVERIES):
                self._dead_letter(
                    "crashed",
                    f"its worker died during each of {deliveries - 1} deliveries",
                    args,
                    kwargs,
                    deliveries=deliveries - 1,
                )
                return None  # after_return forgets the count
        return super().__call__(*args, **kwargs)

    def after_return(
        self, status: str, retval: Any, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        key = self._delivery_key()
        if key is not None:
            from listening.operations.services import do_finish_delivery

            try:
                do_finish_delivery(key)
            except DatabaseError as exc:  # a stale count only costs a delivery of headroom later
                log.warning("task_delivery_not_cleared", task=self.name, key=key, error=str(exc))

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        """Called once a task has failed for good (retries spent, or an error it does not retry)."""
        self._dead_letter("failed", f"{type(exc).__name__}: {exc}", args, kwargs)

    def _dead_letter(
        self, kind: str, reason: str, args: Sequence[Any], kwargs: dict[str, Any], *, deliveries: int = 0
    ) -> None:
        from listening.operations.models import DeadLetter
        from listening.operations.services import do_dead_letter

        delivery_info = self.request.delivery_info or {}
        try:
            do_dead_letter(
                task_id=self.request.id or "",
                task_name=self.name,
                queue=str(delivery_info.get("routing_key") or getattr(self, "queue", "") or ""),
                args=args,
                kwargs=kwargs,
                kind=DeadLetter.Kind(kind),
                reason=reason,
                deliveries=deliveries,
            )
        except DatabaseError as exc:  # the log line is then the only record; say so loudly
            log.error(
                "dead_letter_not_stored", task=self.name, task_id=self.request.id, reason=reason, error=exc
            )


def _backoff(retries: int) -> int:
    """Seconds before retry number ``retries + 1``: Celery's exponential backoff with full jitter,
    capped by TASK_RETRY_BACKOFF_MAX (the same curve ``retry_backoff`` gives autoretried errors)."""
    from django.conf import settings

    return get_exponential_backoff_interval(
        factor=2, retries=retries, maximum=int(settings.TASK_RETRY_BACKOFF_MAX), full_jitter=True
    )


# By name: celery-types would otherwise pin the app to this subclass and refuse it elsewhere.
app = Celery("listening", task_cls="workers.celery_app:ListeningTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_queues=[KombuQueue(queue.value) for queue in Queue],
    task_default_queue=Queue.MAINTENANCE.value,
    task_create_missing_queues=False,
    task_ignore_result=True,
    result_expires=86_400,
    # Fair dispatch with late acks: a worker holds one unacknowledged message per process.
    worker_prefetch_multiplier=1,
    task_acks_late=False,  # per task: only idempotent tasks opt in (see listening_task)
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    imports=["workers.tasks"],
)

F = TypeVar("F", bound=Callable[..., Any])


def listening_task(
    *,
    name: TaskName | str,
    queue: Queue,
    idempotent: bool,
    soft_time_limit: int,
    time_limit: int | None = None,
    **options: Any,
) -> Callable[[F], Any]:
    """Declare a task with its queue, limits and delivery semantics stated at the call site.

    ``idempotent=True`` turns on ``acks_late`` and ``reject_on_worker_lost``: a worker killed
    mid-task gets the message redelivered, which is only safe when running twice changes nothing.
    It also retries transient database errors with backoff (running again is safe by definition).
    """
    if idempotent:
        from django.conf import settings

        options.setdefault("autoretry_for", TRANSIENT_DB_ERRORS)
        options.setdefault("retry_backoff", True)
        options.setdefault("retry_backoff_max", int(settings.TASK_RETRY_BACKOFF_MAX))
        options.setdefault("retry_jitter", True)
        options.setdefault("max_retries", int(settings.TASK_DB_RETRIES))
    return app.task(
        name=str(name),  # a TaskName: registered as the plain string messages carry
        queue=queue.value,
        acks_late=idempotent,
        reject_on_worker_lost=idempotent,
        soft_time_limit=soft_time_limit,
        time_limit=time_limit if time_limit is not None else soft_time_limit + 30,
        **options,
    )


@app.on_after_configure.connect
def _install_beat_schedule(sender: Celery, **kwargs: Any) -> None:
    from workers.beat import build_schedule

    sender.conf.beat_schedule = build_schedule()


# Queues whose tasks run the language models: a worker consuming one imports torch and
# transformers with its first task anyway, so it imports them at start-up, before the freeze.
MODEL_QUEUES = frozenset({Queue.ENRICH, Queue.ANALYZE, Queue.GENERATE, Queue.TRAIN})
MODEL_MODULES = ("models.inference", "models.generation.decoder", "listening.mentions.enrichment")


def freeze_startup_heap(queues: Iterable[str] | None) -> tuple[str, ...]:
    """Import what the tasks of ``queues`` (None: all of them) need, then move every object that
    exists now out of the garbage collector's reach (``gc.freeze``), as gunicorn.conf.py does for
    the web workers. Returns the modules imported for it.

    Modules, classes and functions live as long as the worker, yet every full collection walked
    them: one took 0.47 s in an enrichment worker (613k tracked objects, nearly all from importing
    torch, transformers and Django), a pause inside whichever batch was running. A loaded model adds
    about 10k objects and is freed by reference counting alone, so it is not frozen with them.
    """
    wanted = MODEL_QUEUES if queues is None else MODEL_QUEUES & set(queues)
    imported = MODEL_MODULES if wanted else ()
    for name in imported:
        importlib.import_module(name)
    gc.collect()  # garbage first: a frozen cycle is never collected
    gc.freeze()
    log.info("worker_heap_frozen", frozen=gc.get_freeze_count(), imported=list(imported))
    return imported


@signals.worker_init.connect
def _freeze_worker_heap(sender: Any = None, **kwargs: Any) -> None:
    """In the worker process, once its queues are chosen (``-Q``) and before it takes a task; a
    prefork pool's children inherit the frozen objects."""
    selected = getattr(getattr(sender, "app", app).amqp.queues, "consume_from", None)
    freeze_startup_heap(None if not selected else list(selected))
