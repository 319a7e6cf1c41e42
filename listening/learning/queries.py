"""Reads of the learning app: versions visible to an organization, and what is due for training."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q, QuerySet

from listening.learning.models import (
    CycleStatus,
    Feedback,
    LabelledExample,
    ModelTask,
    ModelVersion,
    Preference,
    TrainingCycle,
)
from listening.mentions.models import Mention
from listening.tenancy.models import Organization


def versions_for(organization_id: int, task: str = ModelTask.SENTIMENT) -> QuerySet[ModelVersion]:
    """The organization's own versions and the shared ones (which enrich it until it has its own);
    ``task`` picks the enrichment models (the default) or the reply models."""
    return ModelVersion.objects.filter(
        Q(organization_id=organization_id) | Q(organization__isnull=True), task=task
    )


def intent_labels(organization_id: int) -> tuple[str, ...]:
    """The support intents the organization's active version can serve (its intent head's labels,
    less the abstention class): what an analyst's corrected intent must be one of."""
    from listening.learning.registry import get_active_version, version_directory
    from models.artifacts import read_manifest  # no torch
    from models.labels import NO_INTENT

    manifest = read_manifest(version_directory(get_active_version(organization_id)), verify=False)
    return tuple(label for label in manifest["heads"].get("intent", ()) if label != NO_INTENT)


def raw_since(organization_id: int) -> QuerySet[Mention]:
    """Mentions stored since the organization's last cycle started (all of them before the first)."""
    last = (
        TrainingCycle.objects.filter(
            organization_id=organization_id, task=ModelTask.SENTIMENT, status=CycleStatus.SUCCEEDED
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    mentions = Mention.objects.filter(organization_id=organization_id)
    return mentions.filter(created_at__gt=last) if last is not None else mentions


def new_data_counts(organization_id: int) -> dict[str, int]:
    """What arrived that no version has learnt from yet."""
    return {
        "labels": LabelledExample.objects.filter(
            organization_id=organization_id, used_in__isnull=True
        ).count(),
        "feedback": Feedback.objects.filter(organization_id=organization_id, disposition="").count(),
        "preferences": Preference.objects.filter(
            organization_id=organization_id, used_in__isnull=True, disposition=""
        ).count(),
        "raw": raw_since(organization_id).count(),
    }


def organizations_due_for_training() -> list[int]:
    """Organizations with no open cycle and enough new labels, or enough new human feedback
    (corrections and rankings together).

    Raw text alone never queues a cycle: it feeds SimCSE and pseudo-labels inside a cycle that has
    labelled signal, but on its own it was measured not to help (docs/learning.md)."""
    busy = set(
        TrainingCycle.objects.filter(
            task=ModelTask.SENTIMENT, status__in=[CycleStatus.QUEUED, CycleStatus.RUNNING]
        ).values_list("organization_id", flat=True)
    )
    due = []
    for organization_id in Organization.objects.order_by("id").values_list("id", flat=True):
        if organization_id in busy:
            continue
        counts = new_data_counts(organization_id)
        if (
            counts["labels"] >= settings.LEARNING_MIN_NEW_LABELS
            or counts["feedback"] + counts["preferences"] >= settings.LEARNING_MIN_NEW_FEEDBACK
        ):
            due.append(organization_id)
    return due
