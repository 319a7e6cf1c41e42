from __future__ import annotations

from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "listening.analytics"
    label = "analytics"
    verbose_name = "Rollups, campaign metrics, comparisons, topics and audiences"
