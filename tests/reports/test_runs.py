"""The sweep and the run claim: exactly once per (schedule, period), leases, concurrency on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from listening.reports import services
from listening.reports.models import ReportRun, ReportSchedule, RunStatus
from tests.conftest import Tenant
from tests.reports.helpers import FIRE, PERIOD_END, PERIOD_START, make_run, make_schedule


@pytest.fixture(autouse=True)
def _reports_dir(tmp_path: Path, settings: Any) -> None:
    settings.REPORTS_DIR = tmp_path / "reports"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_the_sweep_creates_the_due_period_once(alice: Tenant) -> None:
    schedule = make_schedule(alice)
    first = services.do_sweep(FIRE + timedelta(minutes=1))
    run = ReportRun.objects.get(schedule=schedule)
    assert (run.period_start, run.period_end, run.scheduled_for) == (PERIOD_START, PERIOD_END, FIRE)
    assert first == [run.pk]
    # the next minutes: same period, no new row, not dispatched again while queued
    assert services.do_sweep(FIRE + timedelta(minutes=2)) == []
    # a message lost with the broker: still pending a lease later, so it is sent again (the claim
    # makes a duplicate harmless)
    assert services.do_sweep(FIRE + timedelta(days=2)) == [run.pk]
    assert ReportRun.objects.filter(schedule=schedule).count() == 1
    # the next Monday is a new period
    services.do_sweep(FIRE + timedelta(days=7, minutes=1))
    assert ReportRun.objects.filter(schedule=schedule).count() == 2


def test_no_run_before_the_first_fire_after_creation_nor_for_inactive_schedules(alice: Tenant) -> None:
    schedule = make_schedule(alice)
    schedule.created_at = FIRE + timedelta(hours=1)
    schedule.save(update_fields=["created_at"])
    assert services.do_sweep(FIRE + timedelta(hours=2)) == []
    other = make_schedule(alice, name="paused", is_active=False)
    assert services.do_sweep(FIRE + timedelta(days=7, hours=2)) != []
    assert not ReportRun.objects.filter(schedule=other).exists()


def test_two_fires_on_one_day_share_the_period(alice: Tenant) -> None:
    schedule = make_schedule(alice, cron="0 8,17 * * *", period="last_day")
    services.do_sweep(FIRE + timedelta(minutes=1))
    services.do_sweep(FIRE + timedelta(hours=9, minutes=1))
    assert ReportRun.objects.filter(schedule=schedule).count() == 1


def test_a_rendered_run_is_not_rendered_again(alice: Tenant) -> None:
    from django.core import mail

    run = make_run(make_schedule(alice, formats=["csv"]))
    assert services.do_render_run(run.pk, now=FIRE) == "succeeded"
    assert services.do_render_run(run.pk, now=FIRE) == "skipped"
    assert len(mail.outbox) == 1
    assert services.do_render_run(987654, now=FIRE) == "missing"


def test_a_dead_workers_run_is_handed_on_after_its_lease(alice: Tenant, settings: Any) -> None:
    run = make_run(make_schedule(alice, formats=["csv"]))
    assert services.claim_run(run.pk, FIRE) == 1  # a worker claims it ... and dies
    assert services.do_render_run(run.pk, now=FIRE + timedelta(minutes=1)) == "skipped"
    assert services.do_sweep(FIRE + timedelta(minutes=5)) == []  # lease still held
    later = FIRE + timedelta(seconds=settings.REPORTS_LEASE_SECONDS + 1)
    assert services.do_sweep(later) == [run.pk]
    assert services.do_render_run(run.pk, now=later) == "succeeded"
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.attempts == 2


def test_the_last_attempt_dying_fails_the_run_for_good(alice: Tenant, settings: Any) -> None:
    settings.REPORTS_MAX_ATTEMPTS = 1
    run = make_run(make_schedule(alice, formats=["csv"]))
    services.claim_run(run.pk, FIRE)
    later = FIRE + timedelta(seconds=settings.REPORTS_LEASE_SECONDS + 1)
    assert services.do_sweep(later) == []
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "lease expired" in run.error and run.retry_at is None


def _race(n: int, call: Callable[[], Any]) -> list[Any]:
    """Run ``call`` in ``n`` threads released together; each thread has its own DB connection."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_create_and_dispatch_each_period_exactly_once(alice: Tenant) -> None:
    schedules = [make_schedule(alice, name=f"report {i}") for i in range(5)]
    dispatched = _race(4, lambda: services.do_sweep(FIRE + timedelta(minutes=1)))
    runs = list(ReportRun.objects.filter(schedule__in=schedules))
    assert len(runs) == 5
    flat = [run_id for ids in dispatched for run_id in ids]
    assert sorted(flat) == sorted(r.pk for r in runs)  # each run handed to exactly one sweep


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_render_and_mail_a_run_once(alice: Tenant) -> None:
    from django.core import mail

    run = make_run(make_schedule(alice, formats=["csv"]))
    outcomes = _race(4, lambda: services.do_render_run(run.pk, now=FIRE))
    assert sorted(outcomes) == ["skipped", "skipped", "skipped", "succeeded"]
    assert len(mail.outbox) == 1
    run.refresh_from_db()
    assert run.attempts == 1 and run.delivered_to == ["cmo@example.com"]


def test_a_stored_schedule_gone_bad_does_not_stop_the_sweep(alice: Tenant) -> None:
    never = make_schedule(alice, name="never fires")
    ReportSchedule.objects.filter(pk=never.pk).update(cron="0 8 30 2 *")
    lost = make_schedule(alice, name="lost zone")
    ReportSchedule.objects.filter(pk=lost.pk).update(timezone="Nowhere/Land")
    good = make_schedule(alice, name="good")
    assert len(services.do_sweep(FIRE + timedelta(minutes=1))) == 1
    assert ReportRun.objects.filter(schedule=good).exists()
    assert not ReportRun.objects.filter(schedule__in=[never, lost]).exists()
