"""Prometheus view of dead letters, read from the table at scrape time, so the web process exports
what every worker host recorded (workers themselves expose no HTTP endpoint)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import DatabaseError
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


def _family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "listening_dead_letters",
        "Dead-lettered tasks not yet sent again, by task and kind.",
        labels=["task", "kind"],
    )


class DeadLetterCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Registration asks for names: answer without touching the database.
        yield _family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db.models import Count

        from listening.operations.models import DeadLetter

        family = _family()
        try:
            rows = (
                DeadLetter.objects.filter(retried_at__isnull=True)
                .values_list("task_name", "kind")
                .annotate(n=Count("id"))
                .order_by()
            )
            for task_name, kind, count in rows:
                family.add_metric([task_name, kind], count)
        except DatabaseError:
            return  # the database is down: readiness says so; the scrape must not fail
        yield family


_registered = False


def register() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(DeadLetterCollector())
        _registered = True
