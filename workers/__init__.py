"""Celery workers: ``celery -A workers worker -Q <queues>`` and ``celery -A workers beat``."""

from __future__ import annotations

from workers.celery_app import app

__all__ = ["app"]
