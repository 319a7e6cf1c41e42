from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "listening.alerts"
    label = "alerts"
    verbose_name = "Spike alerts and webhooks"
