"""Reads of the learning app: versions visible to an organization, and what is due for training."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q, QuerySet

from listening.learning.models import (
    CycleStatus,
    Feedback,
    LabelledExample,
    ModelVersion,
    TrainingCycle,
)
from listening.learning.services import get_active_version
from listening.mentions.models import Mention
from listening.tenancy.models import Organization


def versions_for(organization_id: int) -> QuerySet[ModelVersion]:
    """The organization's own versions and the shared ones (which enrich it until it has its own)."""
    return ModelVersion.objects.filter(Q(organization_id=organization_id) | Q(organization__isnull=True))


def new_data_counts(organization_id: int) -> dict[str, int]:
    """What arrived that no version has learnt from yet."""
    active = get_active_version(organization_id)
    return {
        "labels": LabelledExample.objects.filter(
            organization_id=organization_id, used_in__isnull=True
        ).count(),
        "feedback": Feedback.objects.filter(organization_id=organization_id, disposition="").count(),
        "raw": Mention.objects.filter(
            organization_id=organization_id, created_at__gt=active.created_at
        ).count(),
    }


def organizations_due_for_training() -> list[int]:
    """Organizations with enough new labels, feedback or raw text (any one) and no open cycle."""
    busy = set(
        TrainingCycle.objects.filter(status__in=[CycleStatus.QUEUED, CycleStatus.RUNNING]).values_list(
            "organization_id", flat=True
        )
    )
    due = []
    for organization_id in Organization.objects.order_by("id").values_list("id", flat=True):
        if organization_id in busy:
            continue
        counts = new_data_counts(organization_id)
        if (
            counts["labels"] >= settings.LEARNING_MIN_NEW_LABELS
            or counts["feedback"] >= settings.LEARNING_MIN_NEW_FEEDBACK
            or counts["raw"] >= settings.LEARNING_MIN_NEW_RAW
        ):
            due.append(organization_id)
    return due
