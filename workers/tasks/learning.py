from __future__ import annotations

from listening.jobs import Queue, TaskName
from listening.learning.errors import CycleCannotRun
from listening.learning.services import do_check_training_triggers, do_run_training_cycle
from workers.celery_app import listening_task


@listening_task(
    name=TaskName.CHECK_TRAINING_TRIGGERS, queue=Queue.MAINTENANCE, idempotent=True, soft_time_limit=120
)
def check_triggers() -> list[int]:
    """Beat: queue a cycle wherever enough new labels or human feedback arrived, then run it."""
    cycles = do_check_training_triggers()
    for cycle_id in cycles:
        run_cycle.delay(cycle_id)
    return cycles


# Idempotent: a cycle pins its inputs and checkpoints, so a redelivered message resumes it. The train
# queue runs with concurrency 1 on the GPU host (celery -A workers worker -Q train -c 1).
@listening_task(
    name=TaskName.RUN_TRAINING_CYCLE, queue=Queue.TRAIN, idempotent=True, soft_time_limit=3 * 3600
)
def run_cycle(cycle_id: int) -> int | None:
    try:
        outcome = do_run_training_cycle(cycle_id)
    except CycleCannotRun:
        return None  # a normal outcome: recorded on the cycle and logged; retrying changes nothing
    return outcome.version.pk if outcome.version is not None else None
