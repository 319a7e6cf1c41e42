"""Analytics tasks: bodies run eagerly for rollups; affinities built by a real worker over Redis."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from listening.analytics.models import AffinityRun, BrandRollup
from listening.jobs import Queue
from listening.mentions.models import Mention
from tests.conftest import Tenant
from workers import app
from workers.beat import build_schedule
from workers.tasks.analytics import build_affinities, build_all_affinities, update_rollups


def test_update_rollups_task_body(alice: Tenant) -> None:
    rows = BrandRollup.objects.filter(brand=alice.brand, interval="day")
    update_rollups.apply(args=[[alice.mention.pk]]).get()
    assert not rows.exists()  # not read yet: the rollups count what the model has read
    Mention.objects.filter(pk=alice.mention.pk).update(enriched_at=timezone.now())
    update_rollups.apply(args=[[alice.mention.pk]]).get()
    assert [(r.mention_count, r.sentiment) for r in rows] == [(1, "")]


def test_affinities_run_nightly_on_the_reports_queue() -> None:
    entry = build_schedule()["analytics-affinities"]
    assert entry["task"] == build_all_affinities.name
    assert build_affinities.queue == build_all_affinities.queue == Queue.REPORTS
    assert build_affinities.acks_late and update_rollups.acks_late


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_real_worker_builds_affinities(alice: Tenant) -> None:
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[Queue.REPORTS.value]):
        build_affinities.delay(alice.brand.pk)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not AffinityRun.objects.filter(brand=alice.brand).exists():
            time.sleep(0.2)
    run = AffinityRun.objects.get(brand=alice.brand)
    assert run.status == AffinityRun.Status.DONE and run.version == 1
    body = alice.client().get(f"/api/v1/brands/{alice.brand.pk}/affinities/").json()
    assert body["status"] == "built" and body["version"] == 1
