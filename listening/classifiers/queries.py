"""Reads of custom classifiers: the active version, and the mentions to tag next."""

from __future__ import annotations

from typing import Any

from listening.classifiers.models import Classifier, ClassifierReading, ClassifierTag
from listening.learning.models import ModelStatus, ModelVersion


def active_version_of(classifier_id: int) -> ModelVersion | None:
    return ModelVersion.objects.filter(classifier_id=classifier_id, status=ModelStatus.ACTIVE).first()


def uncertain_readings(classifier: Classifier, limit: int) -> list[dict[str, Any]]:
    """Active learning: the classifier's readings of untagged mentions, least certain first
    (``models.classifiers.uncertainty``: one minus the margin between the two best labels), with
    the mention's text. Ties go to the newer mention."""
    tagged = ClassifierTag.objects.filter(classifier=classifier).values("mention_id")
    rows = (
        ClassifierReading.objects.filter(classifier=classifier)
        .exclude(mention_id__in=tagged)
        .order_by("-uncertainty", "-mention_id")
        .values("mention_id", "mention__text", "labels", "scores", "uncertainty")[:limit]
    )
    return [
        {
            "mention": row["mention_id"],
            "text": row["mention__text"],
            "labels": row["labels"],
            "scores": row["scores"],
            "uncertainty": round(float(row["uncertainty"]), 4),
        }
        for row in rows
    ]
