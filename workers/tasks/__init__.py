"""Task modules. Tasks are thin: they take ids, call one domain function, and return."""

from __future__ import annotations

from workers.tasks import (
    alerts,
    analytics,
    classifiers,
    enrich,
    ingest,
    learning,
    maintenance,
    replies,
    reports,
    webhooks,
)

__all__ = [
    "alerts",
    "analytics",
    "classifiers",
    "enrich",
    "ingest",
    "learning",
    "maintenance",
    "replies",
    "reports",
    "webhooks",
]
