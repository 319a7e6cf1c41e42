"""The beat schedule, in one place. Each capability adds its periodic tasks here."""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab
from django.conf import settings


def build_schedule() -> dict[str, dict[str, Any]]:
    return {
        "heartbeat": {"task": "maintenance.heartbeat", "schedule": settings.WORKER_HEARTBEAT_SECONDS},
        # Audience clustering for every active brand, nightly when dashboards are quiet.
        "analytics-affinities": {
            "task": "analytics.build_all_affinities",
            "schedule": crontab(hour=2, minute=30),
        },
    }
