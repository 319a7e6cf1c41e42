"""Report schedules and their runs.

A ``ReportRun`` row *is* the claim on one (schedule, period): the unique constraint makes a second
beat process (or a second sweep) find the existing row instead of creating a duplicate, and the
run's status moves by compare-and-set updates, so only one worker renders it at a time. A worker
that dies mid-run leaves ``status=running`` with a lease in the past; a later sweep hands the run to
another worker.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from listening.brands.models import Brand, Campaign
from listening.tenancy.models import Organization


class Period(models.TextChoices):
    """What a run covers, ending at local midnight of the day the schedule fires (in its time zone)."""

    LAST_DAY = "last_day", "The day before"
    LAST_7_DAYS = "last_7_days", "The 7 days before"
    LAST_30_DAYS = "last_30_days", "The 30 days before"
    LAST_MONTH = "last_month", "The previous calendar month"
    CUSTOM = "custom", "The lookback_days days before"


class ReportFormat(models.TextChoices):
    HTML = "html", "HTML"
    PDF = "pdf", "PDF"
    CSV = "csv", "CSV"


class ReportSchedule(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="report_schedules")
    name = models.CharField(max_length=160)
    brands = models.ManyToManyField(Brand, related_name="report_schedules", blank=True)
    # Compared with the brands; empty means "the brands' own competitors".
    competitors = models.ManyToManyField(Brand, related_name="report_schedules_as_competitor", blank=True)
    campaigns = models.ManyToManyField(Campaign, related_name="report_schedules", blank=True)
    period = models.CharField(max_length=16, choices=Period.choices, default=Period.LAST_7_DAYS)
    lookback_days = models.PositiveSmallIntegerField(null=True, blank=True)  # only for Period.CUSTOM
    cron = models.CharField(max_length=120)  # five fields, evaluated in ``timezone``
    timezone = models.CharField(max_length=64, default="UTC")  # IANA name
    formats = models.JSONField(default=list)  # subset of ReportFormat values
    recipients = models.JSONField(default=list, blank=True)  # e-mail addresses
    is_active = models.BooleanField(default=True)
    created_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="uniq_report_name")]
        indexes = [models.Index(fields=["is_active"], name="report_schedule_active")]
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ReportRun(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    schedule = models.ForeignKey(ReportSchedule, on_delete=models.CASCADE, related_name="runs")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    # The cron fire time that produced this run (several fire times may map to one period).
    scheduled_for = models.DateTimeField()
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    # A running run whose lease has passed belongs to a dead worker: the sweep hands it on.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the sweep last put a task for this run on the queue (not again until the lease passes).
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # A failed run is tried again from this moment, until REPORTS_MAX_ATTEMPTS; null: no retry.
    retry_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    # {"pdf": {"path": "<relative to REPORTS_DIR>", "bytes": n, "sha256": "..."}, ...}
    files = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)  # headline numbers, empty flag, model versions
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivered_to = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "period_start", "period_end"], name="uniq_report_run_period"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=models.F("period_start")), name="report_run_ordered"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "lease_expires_at"], name="report_run_sweep"),
            models.Index(fields=["schedule", "-period_end"], name="report_run_latest"),
        ]
        ordering = ["-period_end", "-id"]

    def __str__(self) -> str:
        return f"{self.schedule_id} {self.period_start:%Y-%m-%d}..{self.period_end:%Y-%m-%d} ({self.status})"
