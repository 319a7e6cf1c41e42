"""Serving first: a fine-tuning cycle on its own worker (lower CPU priority, one torch thread) while
the serving worker enriches pushed mentions, fires an alert and answers ``analyze``, all as real
processes on PostgreSQL and Redis (the layout ``make serve`` runs and the README documents)."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.utils import timezone

from ingestion.services import ingest_items
from listening.alerts.models import Alert, AlertRule
from listening.jobs import Queue, TaskName
from listening.learning.feedback import do_import_labelled
from listening.learning.models import CycleStatus, TrainingCycle
from listening.learning.services import do_queue_cycle
from listening.mentions.models import Mention
from tests.alerts.factories import quiet_history
from tests.conftest import make_tenant
from tests.learning.test_cycle import LABELLED
from tests.reliability.stack import Stack, wait_for_worker, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

BURST = 40  # complaints pushed in the last half hour: a spike over a quiet baseline of ~2 an hour

COMPLAINTS = (
    "refund still not processed after three weeks, terrible.",
    "the app crashed and charged me twice.",
    "support ignores every refund request I send.",
    "my order arrived broken and nobody answers.",
    "worst checkout experience I have ever had.",
    "the zipper snapped on the first day, awful quality.",
    "waited forty minutes on hold for nothing.",
    "they cancelled my delivery without telling me.",
    "the replacement is just as faulty as the first one.",
    "billing took money for a plan I never ordered.",
    "I am done with this shop, never again.",
    "the tracking page has been wrong for a week.",
    "customer service hung up on me twice today.",
    "the new update deleted all my saved settings.",
    "paid for express shipping and it came late anyway.",
    "the sizes are wrong and the return label never came.",
    "they keep sending spam after I unsubscribed.",
    "the battery dies within an hour, useless.",
)


def complaints(count: int) -> list[str]:
    """``count`` negative posts, each three different complaints, no two sharing most words."""
    combos = list(itertools.permutations(range(len(COMPLAINTS)), 3))
    random.Random(5).shuffle(combos)
    picked: list[tuple[int, int, int]] = []
    for combo in combos:  # at most one shared sentence with any post already picked
        if all(len(set(combo) & set(other)) <= 1 for other in picked):
            picked.append(combo)
        if len(picked) == count:
            break
    return [" ".join(COMPLAINTS[i] for i in combo) for combo in picked]


def test_a_training_cycle_does_not_stop_enrichment_alerts_or_analyze(stack: Stack, tmp_path: Path) -> None:
    now = timezone.now()
    t = make_tenant("Acme", "alice")
    quiet_history(t, now - timedelta(minutes=31), days=5)  # the rule's baseline, already enriched
    rule = AlertRule.objects.create(organization=t.org, brand=t.brand)
    do_import_labelled(t.org, LABELLED)
    cycle = do_queue_cycle(t.org.pk)
    assert cycle is not None
    empty = tmp_path / "no-data-folder"
    empty.mkdir()
    stack.overrides = {
        "ALERT_CHECK_SECONDS": "5",
        "LEARNING_MODELS_DIR": str(tmp_path / "models"),
        "LISTENING_DATA_DIR": str(empty),  # a user's machine: the cycle runs on what ships
    }
    serving = stack.worker(
        "serve", ",".join(q.value for q in Queue if q not in (Queue.TRAIN, Queue.GENERATE))
    )
    training = stack.worker(
        "train",
        f"{Queue.TRAIN.value},{Queue.GENERATE.value}",
        nice=10,
        env={"LISTENING_TORCH_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    for process in (serving, training):
        wait_for_worker(process)
    client = Celery(broker=stack.redis.url, backend=stack.redis.url, set_as_current=False)
    client.send_task(TaskName.RUN_TRAINING_CYCLE.value, args=[cycle.pk], queue=Queue.TRAIN.value)
    wait_until(
        lambda: TrainingCycle.objects.filter(pk=cycle.pk, status=CycleStatus.RUNNING).exists(),
        # At nice 10 the train worker imports torch and the trainer only when the CPU is spare.
        timeout=300,
        what="the cycle to start on the train worker",
    )

    # A burst of complaints pushed while the cycle trains: beat's re-scan hands it to the serving
    # worker, which enriches it; the spike check on the same worker raises the alert.
    stack.beat()
    pushed = now - timedelta(minutes=30)
    items = [
        {
            "external_id": f"burst-{i}",
            "text": f"{t.brand.query}: {text}",
            "published_at": (pushed + timedelta(seconds=30 * i)).isoformat(),
        }
        for i, text in enumerate(complaints(BURST))
    ]
    summary = ingest_items(t.source, items, channel="push")
    assert summary.counts().get("stored") == len(items), summary.counts()
    burst = Mention.objects.filter(organization=t.org, external_id__startswith="burst-")
    wait_until(
        lambda: not burst.filter(enriched_at__isnull=True).exists(),
        timeout=90,
        what="the serving worker to enrich the pushed burst",
    )
    wait_until(lambda: Alert.objects.filter(rule=rule).exists(), timeout=60, what="the spike check to fire")
    fired = timezone.now()
    # analyze answers within the limit the API waits for it, the cycle still running beside it.
    answer = client.send_task(
        TaskName.ANALYZE.value,
        args=[["the zipper broke after two days"], t.org.pk],
        queue=Queue.ANALYZE.value,
    ).get(timeout=float(settings.ANALYZE_TIMEOUT_SECONDS))
    assert answer["results"][0]["sentiment"] == "negative"

    cycle.refresh_from_db()
    assert cycle.started_at is not None and cycle.started_at < fired
    # Still training when the alert fired: the work above was done beside the cycle, not after it.
    assert cycle.status == CycleStatus.RUNNING or (
        cycle.finished_at is not None and cycle.finished_at > fired
    ), (cycle.status, cycle.finished_at, fired)
    assert burst.filter(sentiment="negative").count() >= len(items) * 0.8
    assert training.alive() and serving.alive()
