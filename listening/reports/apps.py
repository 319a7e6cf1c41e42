from __future__ import annotations

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "listening.reports"
    label = "reports"
    verbose_name = "Scheduled reports"
