"""Report tasks: the per-minute sweep that claims due periods, and rendering one run."""

from __future__ import annotations

from listening.jobs import Queue, TaskName
from listening.reports import services
from workers.celery_app import listening_task


@listening_task(name=TaskName.REPORTS_SWEEP, queue=Queue.REPORTS, idempotent=True, soft_time_limit=60)
def sweep() -> None:
    """Create due runs (the unique (schedule, period) row is the claim) and enqueue each run once."""
    for run_id in services.do_sweep():
        render_run.delay(run_id)


@listening_task(name=TaskName.RENDER_REPORT, queue=Queue.REPORTS, idempotent=True, soft_time_limit=600)
def render_run(run_id: int) -> str:
    """Render, store and e-mail one run; a duplicate delivery finds the run claimed and does nothing."""
    return services.do_render_run(run_id)
