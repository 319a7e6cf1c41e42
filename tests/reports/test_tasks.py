"""The sweep and render tasks on a real worker over the real broker (Redis)."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from listening.jobs import Queue
from listening.reports.models import ReportRun, RunStatus
from tests.conftest import Tenant
from tests.reports.helpers import make_schedule
from workers import app
from workers.beat import build_schedule
from workers.tasks.reports import render_run, sweep


def test_tasks_are_idempotent_on_the_reports_queue_and_swept_by_beat() -> None:
    for task in (sweep, render_run):
        assert task.queue == Queue.REPORTS and task.acks_late and task.reject_on_worker_lost
    assert build_schedule()["reports-sweep"]["task"] == "reports.sweep"


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sweeps_renders_and_mails(alice: Tenant, settings: Any, tmp_path: Path) -> None:
    from django.core import mail

    settings.REPORTS_DIR = tmp_path / "reports"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    schedule = make_schedule(alice, cron="* * * * *", period="last_day", formats=["csv"])
    schedule.created_at = timezone.now() - timedelta(hours=1)
    schedule.save(update_fields=["created_at"])
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[Queue.REPORTS.value]):
        sweep.delay()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run = ReportRun.objects.filter(schedule=schedule).first()
            if run is not None and run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
                break
            time.sleep(0.2)
    assert run is not None and run.status == RunStatus.SUCCEEDED, run and run.error
    assert set(run.files) == {"csv"} and len(mail.outbox) == 1
