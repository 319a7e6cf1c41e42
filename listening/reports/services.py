"""Writes of the reports app: the sweep that claims due periods, and rendering + delivery of a run.

Exactly once per (schedule, period):

1. ``do_sweep`` computes each active schedule's latest due period and inserts its ``ReportRun`` with
   ``ON CONFLICT DO NOTHING`` on the unique (schedule, period_start, period_end): two beat processes,
   or a sweep that runs twice, find the row already there.
2. It then picks runs that need a worker (new, or whose worker died: lease passed, or failed and due
   for a retry) with ``SELECT ... FOR UPDATE SKIP LOCKED`` and stamps ``dispatched_at``, so concurrent
   sweeps enqueue each run once.
3. ``do_render_run`` claims the run by compare-and-set (``pending → running``, or a lapsed
   ``running``), so a duplicate message or a second worker changes nothing; every later write is
   conditioned on the claim's attempt number, so a worker that lost its lease cannot overwrite the
   one that took over.

E-mail is sent at most once per successful attempt and recorded (``delivered_at``); a worker that
dies between sending and recording can cause a second e-mail, never a lost one.
"""

from __future__ import annotations

import hashlib
import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import slugify

from listening.reports.models import ReportFormat, ReportRun, ReportSchedule, RunStatus
from listening.reports.queries import ReportContent, report_content
from listening.reports.schedule import ScheduleError, latest_fire, parse_timezone, period_for

log = structlog.get_logger(__name__)

CONTENT_TYPES = {
    ReportFormat.HTML: "text/html; charset=utf-8",
    ReportFormat.PDF: "application/pdf",
    ReportFormat.CSV: "text/csv; charset=utf-8",
}
DISPATCH_BATCH = 500
RETRY_BASE_SECONDS = 60


# --- sweep --------------------------------------------------------------------------------------


def due_period(schedule: ReportSchedule, now: datetime) -> tuple[datetime, datetime, datetime] | None:
    """(fire time, period start, period end) of the schedule's latest fire at or before ``now``;
    ``None`` before its first fire after creation. Older missed fires are not replayed: a sweep that
    was down for days catches up with the latest period only."""
    tz = parse_timezone(schedule.timezone)
    fire = latest_fire(schedule.cron, tz, now)
    if fire < schedule.created_at:
        return None
    start, end = period_for(fire, schedule.period, schedule.lookback_days, tz)
    return fire, start, end


def create_due_runs(now: datetime) -> int:
    """Insert the due run of every active schedule (ignoring ones that exist); returns how many
    schedules were due (created or already there)."""
    candidates: list[ReportRun] = []
    for schedule in ReportSchedule.objects.filter(is_active=True).only(
        "id", "organization_id", "cron", "timezone", "period", "lookback_days", "created_at"
    ):
        try:
            due = due_period(schedule, now)
        except ScheduleError as exc:  # validated on save; a stored value gone bad must not stop the sweep
            log.warning("report_schedule_unusable", schedule_id=schedule.pk, error=str(exc))
            continue
        if due is not None:
            fire, start, end = due
            candidates.append(
                ReportRun(
                    organization_id=schedule.organization_id,
                    schedule_id=schedule.pk,
                    period_start=start,
                    period_end=end,
                    scheduled_for=fire,
                )
            )
    # INSERT ... ON CONFLICT DO NOTHING: the unique (schedule, period) is the claim.
    ReportRun.objects.bulk_create(candidates, ignore_conflicts=True, batch_size=DISPATCH_BATCH)
    return len(candidates)


def _needs_worker(now: datetime) -> Q:
    return (
        Q(status=RunStatus.PENDING)
        | Q(status=RunStatus.RUNNING, lease_expires_at__lt=now, attempts__lt=settings.REPORTS_MAX_ATTEMPTS)
        | Q(status=RunStatus.FAILED, retry_at__lte=now, attempts__lt=settings.REPORTS_MAX_ATTEMPTS)
    )


def fail_abandoned_runs(now: datetime) -> int:
    """Runs whose last allowed attempt died with its worker: failed for good, with the reason."""
    return ReportRun.objects.filter(
        status=RunStatus.RUNNING, lease_expires_at__lt=now, attempts__gte=settings.REPORTS_MAX_ATTEMPTS
    ).update(
        status=RunStatus.FAILED,
        finished_at=now,
        retry_at=None,
        error="The worker stopped before finishing (lease expired) on the last allowed attempt.",
    )


def claim_dispatch(now: datetime) -> list[int]:
    """Ids of runs to put on the queue now, each returned to one caller only.

    ``SKIP LOCKED`` lets concurrent sweeps split the rows instead of both taking them;
    ``dispatched_at`` keeps a run that is queued but not yet started from being queued again
    every minute while workers are busy (it is re-sent once its lease length has passed).
    """
    quiet = now - timedelta(seconds=settings.REPORTS_LEASE_SECONDS)
    with transaction.atomic():
        ids = list(
            ReportRun.objects.select_for_update(skip_locked=True)
            .filter(_needs_worker(now))
            .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=quiet))
            .order_by("id")
            .values_list("pk", flat=True)[:DISPATCH_BATCH]
        )
        ReportRun.objects.filter(pk__in=ids).update(dispatched_at=now)
    return ids


def do_sweep(now: datetime | None = None) -> list[int]:
    """Create the due runs and return the ids of runs a worker should render (see the module doc)."""
    now = now or timezone.now()
    due = create_due_runs(now)
    abandoned = fail_abandoned_runs(now)
    ids = claim_dispatch(now)
    log.info("reports_swept", due=due, abandoned=abandoned, dispatched=len(ids))
    return ids


# --- one run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    format: ReportFormat
    filename: str
    data: bytes

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


def base_filename(schedule: ReportSchedule, run: ReportRun) -> str:
    tz = parse_timezone(schedule.timezone)
    start = run.period_start.astimezone(tz)
    last = (run.period_end.astimezone(tz) - timedelta(days=1)).date()
    slug = slugify(schedule.name)[:60] or "report"
    return f"{slug}-{start:%Y-%m-%d}-to-{last:%Y-%m-%d}"


def render_formats(content: ReportContent, formats: list[str], filename: str) -> list[Rendered]:
    """The report in each requested format (charts drawn once, shared by HTML and PDF)."""
    from listening.reports.render import render_csv, render_html, render_pdf, report_charts
    from listening.reports.render.layout import build_layout

    wanted = [ReportFormat(f) for f in formats] or [ReportFormat.HTML]
    out: list[Rendered] = []
    if ReportFormat.HTML in wanted or ReportFormat.PDF in wanted:
        layout = build_layout(content)
        charts = report_charts(content.comparison, content.campaigns, content.day_basis)
        if ReportFormat.HTML in wanted:
            out.append(Rendered(ReportFormat.HTML, f"{filename}.html", render_html(layout, charts)))
        if ReportFormat.PDF in wanted:
            out.append(Rendered(ReportFormat.PDF, f"{filename}.pdf", render_pdf(layout, charts)))
    if ReportFormat.CSV in wanted:
        out.append(Rendered(ReportFormat.CSV, f"{filename}.csv", render_csv(content)))
    return out


def run_dir(run: ReportRun) -> Path:
    return Path(settings.REPORTS_DIR) / str(run.organization_id) / str(run.schedule_id) / str(run.pk)


def store(run: ReportRun, files: list[Rendered]) -> dict[str, Any]:
    """Write the files under REPORTS_DIR (atomically: temp file + rename); returns ``ReportRun.files``."""
    folder = run_dir(run)
    folder.mkdir(parents=True, exist_ok=True)
    stored: dict[str, Any] = {}
    for item in files:
        target = folder / item.filename
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_bytes(item.data)
        os.replace(temporary, target)
        stored[item.format.value] = {
            "path": str(target.relative_to(settings.REPORTS_DIR)),
            "filename": item.filename,
            "bytes": len(item.data),
            "sha256": hashlib.sha256(item.data).hexdigest(),
        }
    return stored


def stored_file(run: ReportRun, fmt: str) -> Path | None:
    """The stored file of one format, or ``None`` (format not produced, or the file is gone)."""
    entry = run.files.get(fmt)
    if not isinstance(entry, dict):
        return None
    root = Path(settings.REPORTS_DIR).resolve()
    path = (root / str(entry.get("path", ""))).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


def deliver(schedule: ReportSchedule, content: ReportContent, files: list[Rendered]) -> int:
    """E-mail the files to the schedule's recipients through Django's e-mail backend."""
    if not schedule.recipients:
        return 0
    period = f"{content.period_start:%d %b %Y} \u2013 {(content.period_end - timedelta(days=1)):%d %b %Y}"
    body = (
        f"{schedule.name}\n{content.organization}, {period} ({content.timezone})\n\n"
        + (
            "No mentions were recorded in this period.\n"
            if content.empty
            else f"{content.total_volume:,} mentions across the brands and campaigns of this report.\n"
        )
        + "\nThe report is attached ("
        + ", ".join(f.format.value.upper() for f in files)
        + ").\n"
    )
    message = EmailMessage(
        subject=f"{schedule.name}: {period}"[:200],
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(schedule.recipients),
    )
    for item in files:
        message.attach(item.filename, item.data, item.content_type.split(";")[0])
    return message.send(fail_silently=False)


def claim_run(run_id: int, now: datetime) -> int | None:
    """Compare-and-set ``→ running`` with a fresh lease; the attempt number, or ``None`` when another
    worker holds the run or it needs no work."""
    lease = now + timedelta(seconds=settings.REPORTS_LEASE_SECONDS)
    claimed = (
        ReportRun.objects.filter(pk=run_id)
        .filter(_needs_worker(now))
        .update(
            status=RunStatus.RUNNING,
            attempts=F("attempts") + 1,
            started_at=now,
            lease_expires_at=lease,
            retry_at=None,
            error="",
        )
    )
    if claimed != 1:
        return None
    return ReportRun.objects.values_list("attempts", flat=True).get(pk=run_id)


def _retry_at(now: datetime, attempt: int) -> datetime | None:
    if attempt >= settings.REPORTS_MAX_ATTEMPTS:
        return None
    delay = RETRY_BASE_SECONDS * 2 ** (attempt - 1)
    return now + timedelta(seconds=delay * random.uniform(0.8, 1.2))


def do_render_run(run_id: int, now: datetime | None = None) -> str:
    """Render, store and e-mail one run; returns what happened (``succeeded``, ``failed``,
    ``skipped`` when another worker holds it or it is done, ``missing``)."""
    now = now or timezone.now()
    if not ReportRun.objects.filter(pk=run_id).exists():
        log.info("report_run_missing", run_id=run_id)
        return "missing"
    attempt = claim_run(run_id, now)
    if attempt is None:
        log.info("report_run_skipped", run_id=run_id)
        return "skipped"
    mine = ReportRun.objects.filter(pk=run_id, attempts=attempt, status=RunStatus.RUNNING)
    run = ReportRun.objects.select_related("schedule", "schedule__organization").get(pk=run_id)
    schedule = run.schedule
    try:
        content = report_content(run, now)
        files = render_formats(content, list(schedule.formats), base_filename(schedule, run))
        summary = {
            "empty": content.empty,
            "mentions": content.total_volume,
            "model_versions": [v["name"] for v in content.model_versions],
        }
        if not mine.update(files=store(run, files), summary=summary):
            return "skipped"  # our lease lapsed and another worker took the run over
        if run.delivered_at is None and schedule.recipients:
            deliver(schedule, content, files)
            mine.update(delivered_at=timezone.now(), delivered_to=list(schedule.recipients))
    except Exception as exc:  # recorded on the run and retried by a later sweep (bounded attempts)
        log.exception("report_run_failed", run_id=run_id, attempt=attempt)
        mine.update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}"[:2000],
            retry_at=_retry_at(now, attempt),
        )
        return "failed"
    mine.update(status=RunStatus.SUCCEEDED, finished_at=timezone.now(), lease_expires_at=None)
    log.info("report_run_succeeded", run_id=run_id, attempt=attempt, empty=content.empty)
    return "succeeded"
