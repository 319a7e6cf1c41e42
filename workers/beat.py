"""The beat schedule, in one place. Each capability adds its periodic tasks here."""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab
from django.conf import settings

from listening.jobs import TaskName


def build_schedule() -> dict[str, dict[str, Any]]:
    return {
        "heartbeat": {"task": TaskName.HEARTBEAT.value, "schedule": settings.WORKER_HEARTBEAT_SECONDS},
        "pull-due-sources": {"task": TaskName.PULL_DUE.value, "schedule": settings.PULL_CHECK_SECONDS},
        # Re-scan for unenriched mentions: covers enqueues lost while the broker was down.
        "enrich-pending": {"task": TaskName.ENRICH_PENDING.value, "schedule": settings.ENRICH_RESCAN_SECONDS},
        # Re-send history re-reads (after a promotion or rollback) that stopped moving.
        "enrich-resume-rereads": {
            "task": TaskName.RESUME_REREADS.value,
            "schedule": settings.ENRICH_RESCAN_SECONDS,
        },
        # The same for custom classifiers' history backfills.
        "enrich-resume-classifier-backfills": {
            "task": TaskName.RESUME_CLASSIFIER_BACKFILLS.value,
            "schedule": settings.ENRICH_RESCAN_SECONDS,
        },
        "alerts-check-rules": {"task": TaskName.CHECK_RULES.value, "schedule": settings.ALERT_CHECK_SECONDS},
        # Re-scan for due webhook deliveries: retries, and enqueues lost while the broker was down.
        "alerts-deliver-due": {
            "task": TaskName.DELIVER_DUE.value,
            "schedule": settings.WEBHOOK_RESCAN_SECONDS,
        },
        # Audience clustering for every active brand, nightly when dashboards are quiet.
        "analytics-affinities": {
            "task": TaskName.BUILD_ALL_AFFINITIES.value,
            "schedule": crontab(hour=2, minute=30),
        },
        # Due report periods are claimed by a unique row, so a second beat process is harmless.
        "reports-sweep": {"task": TaskName.REPORTS_SWEEP.value, "schedule": settings.REPORTS_SWEEP_SECONDS},
        # Enough new labels, feedback or raw text? Queue a fine-tuning cycle on the train queue.
        "learning-triggers": {
            "task": TaskName.CHECK_TRAINING_TRIGGERS.value,
            "schedule": settings.LEARNING_CHECK_SECONDS,
        },
        # Enough new customer → agent pairs? Queue a reply-model cycle on the train queue.
        "replies-triggers": {
            "task": TaskName.CHECK_REPLY_TRIGGERS.value,
            "schedule": settings.LEARNING_CHECK_SECONDS,
        },
        # Enough new analyst tags on a custom classifier? Retrain it on the train queue.
        "classifier-tag-triggers": {
            "task": TaskName.CHECK_CLASSIFIER_TAGS.value,
            "schedule": settings.LEARNING_CHECK_SECONDS,
        },
    }
