"""A task executed by a real worker over the real broker (Redis in CI)."""

from __future__ import annotations

import gc
import sys

import pytest
from celery.contrib.testing.worker import start_worker

from listening.jobs import Queue
from workers import app
from workers.celery_app import MODEL_MODULES, freeze_startup_heap
from workers.tasks.maintenance import ping


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_a_task_over_redis() -> None:
    assert app.conf.broker_url.startswith("redis://")
    gc.unfreeze()
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, queues=[Queue.MAINTENANCE.value]):
            assert gc.get_freeze_count() > 0  # worker_init froze the start-up heap
            result = ping.delay().get(timeout=30)
    finally:
        gc.unfreeze()
    assert result["worker"] and result["database_time"]


def test_a_worker_imports_the_models_of_its_queues_and_freezes_its_heap() -> None:
    gc.unfreeze()
    try:
        assert freeze_startup_heap([Queue.REPORTS.value, Queue.MAINTENANCE.value]) == ()
        assert gc.get_freeze_count() > 0
        gc.unfreeze()
        assert freeze_startup_heap([Queue.ENRICH.value]) == MODEL_MODULES
        assert freeze_startup_heap(None) == MODEL_MODULES  # no -Q: every queue
        assert all(name in sys.modules for name in MODEL_MODULES)
        frozen = gc.get_freeze_count()
        assert frozen > 100_000  # torch, transformers and Django
        assert len(gc.get_objects()) < frozen // 10  # what a full collection still walks
    finally:
        gc.unfreeze()


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
