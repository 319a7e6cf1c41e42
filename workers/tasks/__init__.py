"""Task modules. Tasks are thin: they take ids, call one domain function, and return."""

from __future__ import annotations

from workers.tasks import enrich, learning, maintenance

__all__ = ["enrich", "learning", "maintenance"]
