"""The one Celery app. JSON only; late acks for idempotent tasks; time limits on purpose."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from celery import Celery
from kombu import Queue as KombuQueue

from workers.queues import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "listening.settings")

app = Celery("listening")
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
    name: str,
    queue: Queue,
    idempotent: bool,
    soft_time_limit: int,
    time_limit: int | None = None,
    **options: Any,
) -> Callable[[F], Any]:
    """Declare a task with its queue, limits and delivery semantics stated at the call site.

    ``idempotent=True`` turns on ``acks_late`` and ``reject_on_worker_lost``: a worker killed
    mid-task gets the message redelivered, which is only safe when running twice changes nothing.
    """
    return app.task(
        name=name,
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
