from __future__ import annotations

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "api.dashboard"
    label = "dashboard"
    verbose_name = "Reference dashboard"
