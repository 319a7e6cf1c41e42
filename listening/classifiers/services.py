"""Writes of custom classifiers: definitions, analysts' tags, and asking for a training.

Training itself runs in ``train`` workers (:mod:`listening.classifiers.training`, which imports the
model); here a definition change or enough new tags only queue it, after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q

from listening.classifiers.models import (
    MAX_DESCRIPTION_CHARS,
    MAX_EXAMPLE_CHARS,
    MAX_EXAMPLES,
    MAX_EXAMPLES_PER_LABEL,
    MAX_LABELS,
    MAX_NAME_CHARS,
    MIN_LABELS,
    Classifier,
    ClassifierLabel,
    ClassifierReading,
    ClassifierTag,
)
from listening.jobs import Queue, TaskName, send_or_defer_on_commit
from listening.learning.models import ModelStatus, ModelVersion
from listening.learning.registry import get_active_version
from listening.mentions.models import Mention
from listening.tenancy.models import ApiKey

log = structlog.get_logger(__name__)


class ClassifierError(ValueError):
    """A definition or tag that cannot be accepted; the message says why (a 400 for API callers)."""


@dataclass(frozen=True)
class LabelSpec:
    name: str
    description: str = ""
    examples: Sequence[str] = field(default_factory=tuple)


def validate_labels(labels: Sequence[LabelSpec]) -> None:
    """Raise ClassifierError unless there are 2-100 labels with unique, non-empty names and bounded
    descriptions and examples (the limits are in :mod:`listening.classifiers.models`)."""
    if not MIN_LABELS <= len(labels) <= MAX_LABELS:
        raise ClassifierError(
            f"a classifier needs between {MIN_LABELS} and {MAX_LABELS} labels, got {len(labels)}"
        )
    seen: set[str] = set()
    total = 0
    for label in labels:
        name = label.name.strip()
        if not name or len(name) > MAX_NAME_CHARS:
            raise ClassifierError(f"label names need 1 to {MAX_NAME_CHARS} characters: {name[:40]!r}")
        if name.casefold() in seen:
            raise ClassifierError(f"label names must be unique: {name!r} appears twice")
        seen.add(name.casefold())
        if len(label.description) > MAX_DESCRIPTION_CHARS:
            raise ClassifierError(
                f"label {name!r}: the description has {len(label.description)} characters, "
                f"at most {MAX_DESCRIPTION_CHARS}"
            )
        if len(label.examples) > MAX_EXAMPLES_PER_LABEL:
            raise ClassifierError(
                f"label {name!r}: {len(label.examples)} examples, at most {MAX_EXAMPLES_PER_LABEL} per label"
            )
        for example in label.examples:
            if not example.strip() or len(example) > MAX_EXAMPLE_CHARS:
                raise ClassifierError(f"label {name!r}: examples need 1 to {MAX_EXAMPLE_CHARS} characters")
        total += len(label.examples)
    if total > MAX_EXAMPLES:
        raise ClassifierError(f"{total} examples in all, at most {MAX_EXAMPLES}")


@transaction.atomic
def do_save_classifier(
    classifier: Classifier, labels: Sequence[LabelSpec] | None = None, *, train: bool = True
) -> Classifier:
    """Create or update ``classifier`` (its scope fields already set) and, when given, replace its
    labels. Queues a training after the commit when the labels changed (or ``train``)."""
    if labels is not None:
        validate_labels(labels)
    if classifier.scope != Classifier.Scope.BRAND:
        classifier.brand = None
    if classifier.scope != Classifier.Scope.SOURCE_KIND:
        classifier.source_kind = ""
    if classifier.scope == Classifier.Scope.BRAND and classifier.brand is None:
        raise ClassifierError("scope 'brand' needs a brand")
    if classifier.scope == Classifier.Scope.SOURCE_KIND and not classifier.source_kind:
        raise ClassifierError("scope 'source_kind' needs a source_kind")
    classifier.save()
    if labels is not None:
        classifier.labels.all().delete()
        ClassifierLabel.objects.bulk_create(
            ClassifierLabel(
                classifier=classifier,
                name=label.name.strip(),
                description=label.description.strip(),
                examples=[example.strip() for example in label.examples],
                position=position,
            )
            for position, label in enumerate(labels)
        )
    if labels is not None or train:
        do_queue_training(classifier.pk)
    return classifier


def do_queue_training(classifier_id: int) -> None:
    """Ask a ``train`` worker to train the classifier, once the current transaction commits."""
    send_or_defer_on_commit(
        TaskName.TRAIN_CLASSIFIER, [classifier_id], queue=Queue.TRAIN, reason="classifier training"
    )


def classifiers_on_another_encoder(organization_id: int | None) -> list[int]:
    """Classifiers whose active head was fitted on embeddings of a language-model version that no
    longer enriches their organization (``organization_id`` None: every organization)."""
    versions = ModelVersion.objects.filter(classifier__isnull=False, status=ModelStatus.ACTIVE)
    if organization_id is not None:
        versions = versions.filter(organization_id=organization_id)
    encoders: dict[int, str] = {}
    stale = []
    for classifier_id, org_id, snapshot in versions.values_list(
        "classifier_id", "organization_id", "data_snapshot"
    ):
        if org_id not in encoders:
            encoders[org_id] = get_active_version(org_id).name
        if (snapshot or {}).get("encoder") != encoders[org_id]:
            stale.append(classifier_id)
    return sorted(stale)


def do_retrain_on_new_encoder(organization_id: int | None) -> list[int]:
    """The organization's language model changed: its embeddings moved, so a head fitted on the old
    ones reads the new ones badly. Queue a training of each such classifier (the gate compares the
    candidate with the old head on the new embeddings, which is what is served until then)."""
    stale = classifiers_on_another_encoder(organization_id)
    for classifier_id in stale:
        do_queue_training(classifier_id)
    if stale:
        log.info("classifier_retraining_for_new_encoder", organization_id=organization_id, classifiers=stale)
    return stale


def do_tag(classifier: Classifier, mention: Mention, key: ApiKey, labels: Sequence[str]) -> ClassifierTag:
    """Record an analyst's labels for ``mention`` (both of ``key``'s organization: checked by callers).

    ``labels`` are names of the classifier's labels: exactly one for a single-label classifier, any
    number (none: "none of these") for a multi-label one. The text and what the classifier said at
    this moment are kept, so the audit trail shows what was corrected.
    """
    names = list(classifier.labels.values_list("name", flat=True))
    unknown = sorted(set(labels) - set(names))
    if unknown:
        raise ClassifierError(f"unknown labels {unknown[:5]}: this classifier has {', '.join(names)}")
    if len(set(labels)) != len(labels):
        raise ClassifierError("a label is given twice")
    if not classifier.multi_label and len(labels) != 1:
        raise ClassifierError("this classifier is single-label: give exactly one label")
    reading = ClassifierReading.objects.filter(classifier=classifier, mention=mention).first()
    membership = key.membership
    return ClassifierTag.objects.create(
        organization_id=mention.organization_id,
        classifier=classifier,
        mention=mention,
        labels=list(labels),
        previous_labels=reading.labels if reading is not None else [],
        text=mention.model_text or mention.clean_text or mention.text,
        author=membership,
        author_name=membership.user.get_username(),
        api_key=key,
    )


def classifiers_due_for_training() -> list[int]:
    """Classifiers with at least ``CLASSIFIER_MIN_NEW_TAGS`` tags newer than their latest version."""
    due = (
        Classifier.objects.annotate(
            fresh=Count("tags", filter=Q(tags__used_in__isnull=True, tags__disposition=""), distinct=True)
        )
        .filter(fresh__gte=settings.CLASSIFIER_MIN_NEW_TAGS)
        .values_list("pk", flat=True)
    )
    return list(due)


def do_check_tag_triggers() -> list[int]:
    """Beat: queue a training for every classifier with enough new tags; returns their ids."""
    due = classifiers_due_for_training()
    for classifier_id in due:
        do_queue_training(classifier_id)
    if due:
        log.info("classifier_trainings_queued", classifiers=due)
    return due
