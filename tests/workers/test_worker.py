"""A task executed by a real worker over the real broker (Redis in CI)."""

from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker

from listening.jobs import Queue
from workers import app
from workers.tasks.maintenance import ping


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_a_task_over_redis() -> None:
    assert app.conf.broker_url.startswith("redis://")
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[Queue.MAINTENANCE.value]):
        result = ping.delay().get(timeout=30)
    assert result["worker"] and result["database_time"]


def test_tasks_are_json_only_and_routed_by_workload() -> None:
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]
    assert ping.queue == Queue.MAINTENANCE
    assert ping.acks_late and ping.reject_on_worker_lost
    assert ping.soft_time_limit and ping.time_limit and ping.time_limit > ping.soft_time_limit
    assert {q.name for q in app.conf.task_queues} == {q.value for q in Queue}


def test_beat_schedule_names_registered_tasks() -> None:
    app.loader.import_default_modules()
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks, entry
