"""The beat schedule, in one place. Each capability adds its periodic tasks here."""

from __future__ import annotations

from typing import Any

from django.conf import settings


def build_schedule() -> dict[str, dict[str, Any]]:
    return {
        "heartbeat": {"task": "maintenance.heartbeat", "schedule": settings.WORKER_HEARTBEAT_SECONDS},
        # Re-scan for unenriched mentions: covers enqueues lost while the broker was down.
        "enrich-pending": {"task": "enrich.pending", "schedule": settings.ENRICH_RESCAN_SECONDS},
        # Enough new labels, feedback or raw text? Queue a fine-tuning cycle on the train queue.
        "learning-triggers": {"task": "learning.check_triggers", "schedule": settings.LEARNING_CHECK_SECONDS},
    }
