"""Writes for delivery accounting and dead letters (see models)."""

from __future__ import annotations

from typing import Any

import structlog
from django.db import connection
from django.utils import timezone

from listening import jobs
from listening.operations.models import DeadLetter, TaskDelivery

log = structlog.get_logger(__name__)


def do_count_delivery(key: str, task_name: str) -> int:
    """Record one more start of the message ``key``; returns how many starts it has had.

    One statement, atomic under concurrency (PostgreSQL and SQLite share this upsert syntax).
    """
    now = timezone.now()
    table = TaskDelivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, task_name, deliveries, first_delivered_at, last_delivered_at) "
            "VALUES (%s, %s, 1, %s, %s) "
            f"ON CONFLICT (key) DO UPDATE SET deliveries = {table}.deliveries + 1, "
            "last_delivered_at = EXCLUDED.last_delivered_at RETURNING deliveries",
            [key, task_name[:200], now, now],
        )
        row = cursor.fetchone()
    return int(row[0])


def do_finish_delivery(key: str) -> None:
    """The task returned or raised in a live worker: its message is settled, forget the count."""
    TaskDelivery.objects.filter(key=key).delete()


def do_dead_letter(
    *,
    task_id: str,
    task_name: str,
    queue: str,
    args: Any,
    kwargs: Any,
    kind: DeadLetter.Kind,
    reason: str,
    deliveries: int = 0,
) -> DeadLetter:
    letter = DeadLetter.objects.create(
        task_id=task_id[:64],
        task_name=task_name[:200],
        queue=queue[:64],
        args=list(args or []),
        kwargs=dict(kwargs or {}),
        kind=kind,
        reason=reason[:4000],
        deliveries=deliveries,
    )
    log.error(
        "task_dead_lettered",
        dead_letter_id=letter.pk,
        task=task_name,
        task_id=task_id,
        kind=kind,
        reason=reason,
        deliveries=deliveries,
    )
    return letter


def do_retry_dead_letter(letter: DeadLetter) -> str:
    """Send the dead letter's task again (a new task id), recording that it was sent."""
    task_id = jobs.send(letter.task_name, letter.args, letter.kwargs, queue=letter.queue or None)
    DeadLetter.objects.filter(pk=letter.pk).update(retried_at=timezone.now(), retried_as=task_id)
    log.info("dead_letter_retried", dead_letter_id=letter.pk, task=letter.task_name, new_task_id=task_id)
    return task_id
