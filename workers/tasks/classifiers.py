"""Custom classifiers' tasks: training (train queue), history backfill (enrich queue), tag triggers (beat)."""

from __future__ import annotations

from listening.classifiers.backfill import continue_backfill, do_backfill_batch, do_resume_backfills
from listening.classifiers.services import do_check_tag_triggers
from listening.classifiers.training import do_train_classifier
from listening.jobs import Queue, TaskName
from workers.celery_app import listening_task


# Idempotent: a second run trains another candidate, which the gate judges like the first.
@listening_task(name=TaskName.TRAIN_CLASSIFIER, queue=Queue.TRAIN, idempotent=True, soft_time_limit=1800)
def train_classifier(classifier_id: int) -> int | None:
    outcome = do_train_classifier(classifier_id)
    return outcome.version.pk if outcome is not None else None


# Idempotent: readings are upserts, and a batch of a version no longer active writes nothing.
@listening_task(name=TaskName.CLASSIFIER_BACKFILL, queue=Queue.ENRICH, idempotent=True, soft_time_limit=900)
def classifier_backfill(version_id: int, before_id: int | None = None) -> int:
    """One batch of labelling the stored history with a classifier version; queues the next."""
    step = do_backfill_batch(version_id, before_id)
    continue_backfill(version_id, step)
    return step.read


@listening_task(
    name=TaskName.RESUME_CLASSIFIER_BACKFILLS, queue=Queue.MAINTENANCE, idempotent=True, soft_time_limit=60
)
def resume_classifier_backfills() -> list[int]:
    """Beat: send again the history backfills that stopped moving (a lost message, a killed worker)."""
    return do_resume_backfills()


@listening_task(
    name=TaskName.CHECK_CLASSIFIER_TAGS, queue=Queue.MAINTENANCE, idempotent=True, soft_time_limit=120
)
def check_classifier_tags() -> list[int]:
    """Beat: retrain every classifier that received enough new analyst tags."""
    return do_check_tag_triggers()
