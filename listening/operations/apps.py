from __future__ import annotations

from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "listening.operations"
    label = "operations"
    verbose_name = "Task delivery accounting and dead letters"

    def ready(self) -> None:
        from listening.operations import metrics

        metrics.register()
