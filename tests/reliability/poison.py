"""A task that kills the worker process running it, loaded only by the poison-message test's worker
(``celery worker --include tests.reliability.poison``)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from listening.jobs import Queue
from workers.celery_app import listening_task


@listening_task(name="reliability.poison", queue=Queue.MAINTENANCE, idempotent=True, soft_time_limit=30)
def poison(tally_path: str) -> None:
    """Record that it ran, then die as a segfault or the OOM killer would: no exception, no ack."""
    with Path(tally_path).open("a") as tally:
        tally.write(f"{os.getpid()}\n")
    os.kill(os.getpid(), signal.SIGKILL)
