"""The fine-tuning cycle's orchestration: queue a cycle (by hand or when enough new data arrived)
and run or resume one end to end.

Training runs in ``train`` workers only: :func:`do_run_training_cycle` imports
``listening.learning.cycle`` (torch, through ``models.training``) when it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog
from django.db import IntegrityError, transaction
from django.utils import timezone

from listening.learning.errors import CycleCannotRun
from listening.learning.models import CycleStatus, ModelTask, TrainingCycle
from models.artifacts import ArtifactError  # no torch

if TYPE_CHECKING:
    from listening.learning.cycle import CycleOutcome

log = structlog.get_logger(__name__)

# Cycles of other tasks than sentiment (the reply models) run through the same queue, status and
# failure handling, with the runner their app registers (``RepliesConfig.ready``): learning never
# imports the apps built on it.
CycleRunner = Callable[..., "CycleOutcome"]
_RUNNERS: dict[str, CycleRunner] = {}


def register_cycle_runner(task: str, runner: CycleRunner) -> None:
    """Run cycles of ``task`` with ``runner(cycle, *, progress, config_overrides, on_step)``."""
    _RUNNERS[task] = runner


def do_queue_cycle(
    organization_id: int, *, trigger: str = "manual", task: str = ModelTask.SENTIMENT
) -> TrainingCycle | None:
    """Create a queued cycle of ``task``, or return None when one is already queued or running."""
    try:
        with transaction.atomic():
            return TrainingCycle.objects.create(organization_id=organization_id, trigger=trigger, task=task)
    except IntegrityError:
        return None


def do_check_training_triggers() -> list[int]:
    """Queue a cycle for each organization where enough new data arrived (thresholds by setting);
    returns the new cycles' ids."""
    from listening.learning.queries import organizations_due_for_training

    cycles = []
    for organization_id in organizations_due_for_training():
        cycle = do_queue_cycle(organization_id, trigger="beat")
        if cycle is not None:
            cycles.append(cycle.pk)
    return cycles


def do_run_training_cycle(
    cycle_id: int,
    *,
    progress: bool = False,
    config_overrides: dict[str, Any] | None = None,
    on_step: Callable[[int, int, dict[str, float]], None] | None = None,
) -> CycleOutcome:
    """Run (or resume) a training cycle end to end: gather data, fine-tune the active version,
    evaluate, register the candidate, and promote it when the gate passes (and auto-promotion is on).

    A cycle of another task runs its registered runner instead (a reply-model cycle,
    ``task="replies"``: ``listening.replies.cycle.run_reply_cycle``, supervised fine-tuning of the
    decoder on the organization's pairs, DPO on its rankings, the reply gate).
    Safe to call again after a crash: the cycle's pinned inputs and checkpoint make it resume.
    Raises CycleCannotRun (the cycle is marked failed with the message) when there is nothing new to
    learn from or a version's files are missing or damaged.
    """
    from listening.learning.cycle import CycleOutcome, run_cycle  # imports torch: train workers only

    cycle = TrainingCycle.objects.get(pk=cycle_id)
    if cycle.status == CycleStatus.SUCCEEDED:
        return CycleOutcome(
            cycle, cycle.version, cycle.version is not None and cycle.version.status == "active"
        )
    TrainingCycle.objects.filter(pk=cycle.pk).update(status=CycleStatus.RUNNING, started_at=timezone.now())
    try:
        runner = run_cycle if cycle.task == ModelTask.SENTIMENT else _RUNNERS.get(cycle.task)
        if runner is None:
            raise CycleCannotRun(f"no app runs cycles of task {cycle.task!r}")
        return runner(cycle, progress=progress, config_overrides=config_overrides or {}, on_step=on_step)
    except (CycleCannotRun, ArtifactError) as exc:
        _mark_failed(cycle, str(exc))
        log.warning("training_cycle_cannot_run", cycle_id=cycle.pk, reason=str(exc))
        if isinstance(exc, CycleCannotRun):
            raise
        raise CycleCannotRun(str(exc)) from exc
    except Exception as exc:
        _mark_failed(cycle, f"{type(exc).__name__}: {exc}")
        log.exception("training_cycle_failed", cycle_id=cycle.pk)
        raise


def _mark_failed(cycle: TrainingCycle, error: str) -> None:
    TrainingCycle.objects.filter(pk=cycle.pk).update(
        status=CycleStatus.FAILED, error=error[:2000], finished_at=timezone.now()
    )
