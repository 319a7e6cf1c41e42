from __future__ import annotations

import socket

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from listening.jobs import Queue, TaskName
from workers.celery_app import listening_task

HEARTBEAT_KEY = "workers:heartbeat"


@listening_task(
    name=TaskName.PING, queue=Queue.MAINTENANCE, idempotent=True, soft_time_limit=10, ignore_result=False
)
def ping() -> dict[str, str]:
    """Round trip through broker, worker and database: answers the worker's host and the DB's time."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT CURRENT_TIMESTAMP")
        db_now = cursor.fetchone()[0]
    return {"worker": socket.gethostname(), "database_time": str(db_now)}


@listening_task(name=TaskName.HEARTBEAT, queue=Queue.MAINTENANCE, idempotent=True, soft_time_limit=10)
def heartbeat() -> None:
    """Beat runs this; operators read ``workers:heartbeat`` to see that beat and a worker are alive."""
    cache.set(HEARTBEAT_KEY, timezone.now().isoformat(), timeout=None)
