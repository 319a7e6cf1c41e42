"""A fine-tuning cycle on one organization's data: the Django side of ``models.training``.

Imports torch (through ``models.training``): only ``train`` workers and ``manage.py train`` load it.
The cycle pins the ids of what it learns from in ``TrainingCycle.inputs`` on its first start, so a
run killed at any point and started again trains on the same data and resumes from its checkpoint.

Nothing here reads the development data folder: beside the organization's own rows, a cycle reads
the general check set and replay sample shipped with the default version (``models.shipped``), so
it runs on any installation.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from listening.learning.errors import CycleCannotRun
from listening.learning.models import (
    CycleStatus,
    Feedback,
    LabelledExample,
    ModelVersion,
    Preference,
    TrainingCycle,
)
from listening.learning.queries import raw_since
from listening.learning.registry import do_promote, get_active_version, register_version, version_directory
from listening.mentions.models import Enrichment, Mention
from models.artifacts import ArtifactError, read_manifest
from models.datasets import LabelledTexts
from models.labels import SENTIMENT
from models.shipped import GENERAL_SETS_HOME, read_check_set, read_replay_sample
from models.training.config import TrainingConfig
from models.training.data import (
    Example,
    FeedbackItem,
    TrainingData,
    cap_feedback,
    feedback_concentration,
    pseudo_labels,
    replay_sample,
)
from models.training.data import (
    Preference as PreferencePair,
)
from models.training.evaluate import evaluate_version
from models.training.gate import GateRules, gate
from models.training.trainer import train_cycle

log = structlog.get_logger(__name__)

HELD_OUT = "held out for the recent slice"
# The gate's slice names: the shipped general check set (the fixed held-out set) and the
# organization's own held-out labels and corrections.
CHECK = "check"
RECENT = "recent"
NOTHING_TO_LEARN = (
    "nothing new to learn from: this organization has no new labels, corrections or rankings to train "
    "on since its last cycle (raw text alone does not start one); import labelled examples or correct "
    "some mentions' labels first"
)


@dataclass
class CycleOutcome:
    cycle: TrainingCycle
    version: ModelVersion | None
    promoted: bool


def cycle_checkpoint_dir(cycle: TrainingCycle) -> Path:
    return Path(settings.MODELS_DIR) / ".checkpoints" / f"cycle-{cycle.pk}"


def collect_inputs(organization_id: int, parent: ModelVersion, seed: int) -> dict[str, Any]:
    """Choose what the cycle learns from (ids only), applying caps, hold-out and pseudo-labelling."""
    every = settings.LEARNING_RECENT_EVERY
    labelled = list(
        LabelledExample.objects.filter(organization_id=organization_id, used_in__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    feedback_rows = list(
        Feedback.objects.filter(organization_id=organization_id, disposition="")
        .order_by("created_at", "id")
        .values("id", "author_id", "author_name", "text", "sentiment", "intent")
    )
    items = [
        FeedbackItem(
            key=row["id"],
            user=str(row["author_id"] or row["author_name"]),
            text=row["text"],
            label=row["sentiment"] or row["intent"],
            task="sentiment" if row["sentiment"] else "intent",
        )
        for row in feedback_rows
    ]
    capped = cap_feedback(
        items,
        per_user=settings.LEARNING_FEEDBACK_CAP_PER_USER,
        per_cycle=settings.LEARNING_FEEDBACK_CAP_PER_CYCLE,
    )
    kept = [item.key for item in capped.kept]
    recent_feedback = [key for key in kept if key % every == 0]
    raw_ids = list(
        raw_since(organization_id).order_by("-id").values_list("id", flat=True)[: settings.LEARNING_RAW_MAX]
    )
    pseudo: list[list[Any]] = []
    if settings.LEARNING_PSEUDO_MAX:
        corrected = {row["id"] for row in feedback_rows}
        enriched = list(
            Enrichment.objects.filter(model_version=parent, mention_id__in=raw_ids)
            .exclude(mention__feedback__id__in=corrected)
            .values_list("mention_id", "sentiment_probs")
        )
        if enriched:
            probs = np.array([[row[1].get(label, 0.0) for label in SENTIMENT] for row in enriched])
            ids = [str(row[0]) for row in enriched]
            chosen = pseudo_labels(
                ids, probs, SENTIMENT, threshold=settings.LEARNING_PSEUDO_THRESHOLD, seed=seed
            )
            pseudo = [[int(e.text), e.label] for e in chosen[: settings.LEARNING_PSEUDO_MAX]]
    # Drawn with the cycle's seed (not ORDER BY random()), so a cycle's inputs are reproducible.
    earlier = list(
        LabelledExample.objects.filter(organization_id=organization_id, used_in__isnull=False)
        .order_by("id")
        .values_list("id", flat=True)
    )
    replay_labelled = sorted(
        random.Random(seed).sample(earlier, min(len(earlier), settings.LEARNING_REPLAY_SIZE))
    )
    return {
        "labelled_train": [i for i in labelled if i % every],
        "labelled_recent": [i for i in labelled if i % every == 0],
        "feedback_train": [key for key in kept if key % every],
        "feedback_recent": recent_feedback,
        "feedback_dropped": {str(key): reason for key, reason in capped.dropped.items()},
        "feedback_stats": feedback_concentration(items),
        "preferences": list(
            Preference.objects.filter(organization_id=organization_id, used_in__isnull=True, disposition="")
            .order_by("id")
            .values_list("id", flat=True)
        ),
        "raw": raw_ids,
        "pseudo": pseudo,
        "replay_labelled": replay_labelled,
        "replay_dataset": settings.LEARNING_REPLAY_SIZE,
        "seed": seed,
    }


def build_data(inputs: dict[str, Any], heads: dict[str, list[str]]) -> tuple[TrainingData, LabelledTexts]:
    """The training data and the recent-data slice for pinned ``inputs``; labels outside the parent's
    heads (``heads``: task → labels, from its manifest) are left out rather than failing the cycle."""
    examples: list[Example] = []
    for row in LabelledExample.objects.filter(id__in=inputs["labelled_train"]).order_by("id"):
        if row.label in heads.get(row.task, ()):
            examples.append(Example(row.text, row.label, "gold", row.task))
    for correction in Feedback.objects.filter(id__in=inputs["feedback_train"]).order_by("id"):
        if correction.sentiment:
            examples.append(Example(correction.text, correction.sentiment, "feedback", "sentiment"))
        if correction.intent in heads.get("intent", ()):
            examples.append(Example(correction.text, correction.intent, "feedback", "intent"))
    texts = dict(Mention.objects.filter(id__in=inputs["raw"]).values_list("id", "model_text"))
    fallback = dict(Mention.objects.filter(id__in=inputs["raw"]).values_list("id", "clean_text"))
    for mention_id, label in inputs["pseudo"]:
        text = texts.get(mention_id) or fallback.get(mention_id)
        if text:
            examples.append(Example(text, label, "pseudo"))
    replay = [
        Example(row.text, row.label, "replay", row.task)
        for row in LabelledExample.objects.filter(id__in=inputs["replay_labelled"]).order_by("id")
    ]
    # The organization's earlier labels first; the shipped sample fills the rest of the replay
    # budget (all of it on a first cycle). "replay_dataset" is that budget, pinned with the inputs.
    missing = inputs["replay_dataset"] - len(replay)
    if missing > 0:
        shipped = read_replay_sample(GENERAL_SETS_HOME)
        replay += replay_sample(
            [Example(t, label) for t, label in zip(shipped.texts, shipped.labels, strict=True)],
            missing,
            seed=inputs["seed"],
        )
    preferences: list[PreferencePair] = []
    for pref in Preference.objects.filter(id__in=inputs["preferences"]).select_related("first", "second"):
        first_text = pref.first.model_text or pref.first.clean_text
        if pref.kind == Preference.Kind.MORE_NEGATIVE and pref.second is not None:
            second_text = pref.second.model_text or pref.second.clean_text
            pair = (first_text, second_text) if pref.choice == "first" else (second_text, first_text)
            preferences.append(PreferencePair(*pair))
        elif pref.kind == Preference.Kind.BETTER_LABEL:
            label = pref.first_label if pref.choice == "first" else pref.second_label
            examples.append(Example(first_text, label, "feedback"))
    raw = [texts.get(i) or fallback.get(i) or "" for i in inputs["raw"]]
    recent_rows: list[tuple[str, str]] = [
        (row.text, row.label)
        for row in LabelledExample.objects.filter(
            id__in=inputs["labelled_recent"], task="sentiment"
        ).order_by("id")
    ] + [
        (row.text, row.sentiment)
        for row in Feedback.objects.filter(id__in=inputs["feedback_recent"])
        .exclude(sentiment="")
        .order_by("id")
    ]
    recent = LabelledTexts([t for t, _ in recent_rows], [label for _, label in recent_rows], RECENT)
    data = TrainingData(examples=examples + replay, preferences=preferences, raw_texts=[t for t in raw if t])
    return data, recent


def _mark_used(cycle: TrainingCycle, version: ModelVersion) -> None:
    """The audit trail: every row the cycle looked at says which version used it, or why not."""
    inputs = cycle.inputs
    LabelledExample.objects.filter(id__in=inputs["labelled_train"] + inputs["labelled_recent"]).update(
        used_in=version
    )
    Feedback.objects.filter(id__in=inputs["feedback_train"]).update(used_in=version, disposition="trained")
    Feedback.objects.filter(id__in=inputs["feedback_recent"]).update(used_in=version, disposition=HELD_OUT)
    by_reason: dict[str, list[int]] = {}
    for key, reason in inputs["feedback_dropped"].items():
        by_reason.setdefault(reason, []).append(int(key))
    for reason, keys in by_reason.items():
        Feedback.objects.filter(id__in=keys).update(disposition=f"not used: {reason} (cycle {cycle.pk})")
    Preference.objects.filter(id__in=inputs["preferences"]).update(used_in=version, disposition="trained")


def _heads_of(version: ModelVersion) -> dict[str, list[str]]:
    """The label maps of ``version`` (task → labels), its files verified first: a cycle on a missing
    or damaged parent fails here with a message, not an hour later inside the trainer."""
    try:
        heads: dict[str, list[str]] = read_manifest(version_directory(version), verify=True)["heads"]
    except ArtifactError as exc:
        raise CycleCannotRun(
            f"the files of model version {version.name!r}, which this cycle trains from, are missing or "
            f"damaged ({exc}); restore them or roll back to another version"
        ) from exc
    return heads


def _has_signal(data: TrainingData) -> bool:
    """Labelled signal of the organization's own: raw text, pseudo-labels (the parent's own
    predictions) and replay alone are no reason to train (SimCSE alone was measured not to help)."""
    return bool(data.preferences) or any(e.kind in ("gold", "feedback") for e in data.examples)


def run_cycle(
    cycle: TrainingCycle,
    *,
    progress: bool,
    config_overrides: dict[str, Any],
    on_step: Callable[[int, int, dict[str, float]], None] | None,
) -> CycleOutcome:
    """Raises CycleCannotRun (nothing to learn from; a version's or the shipped sets' files missing
    or damaged) before it pins any input, so the same cycle is never retried on stale inputs."""
    organization_id = cycle.organization_id
    check = read_check_set(GENERAL_SETS_HOME)
    if settings.LEARNING_HELDOUT_LIMIT:
        check = check.head(settings.LEARNING_HELDOUT_LIMIT)
    if not cycle.inputs:
        parent = get_active_version(organization_id)
        inputs = collect_inputs(organization_id, parent, seed=13 + cycle.pk)
        data, recent = build_data(inputs, _heads_of(parent))
        if not _has_signal(data):
            raise CycleCannotRun(NOTHING_TO_LEARN)
        cycle.parent, cycle.inputs = parent, inputs
        cycle.save(update_fields=["parent", "inputs"])
    else:
        parent = cycle.parent or get_active_version(organization_id)
        data, recent = build_data(cycle.inputs, _heads_of(parent))
    snapshot = data.snapshot() | {
        "replay_own": len(cycle.inputs["replay_labelled"]),
        "recent_slice": len(recent),
        "check_set": len(check),
        "feedback_dropped": len(cycle.inputs["feedback_dropped"]),
    }
    TrainingCycle.objects.filter(pk=cycle.pk).update(data_snapshot=snapshot)
    name = f"org{organization_id}-c{cycle.pk}"
    out = Path(settings.MODELS_DIR) / name
    config = TrainingConfig.from_env(**config_overrides)

    def step_callback(step: int, total: int, record: dict[str, float]) -> None:
        if step == 1 or step == total or step % 10 == 0:
            TrainingCycle.objects.filter(pk=cycle.pk).update(step=step, total_steps=total)
        if on_step is not None:
            on_step(step, total, record)

    if not (out / "manifest.json").is_file():  # a cycle killed after saving does not train again
        train_cycle(
            version_directory(parent),
            data,
            out,
            version=name,
            config=config,
            checkpoint_dir=cycle_checkpoint_dir(cycle),
            calibration=check,
            progress=progress,
            on_step=step_callback,
        )
    manifest = read_manifest(out, verify=True)
    slices = {CHECK: check, RECENT: recent}
    candidate_metrics = evaluate_version(out, slices)
    parent_metrics = evaluate_version(version_directory(parent), slices)
    rules = GateRules(
        overall_margin=settings.LEARNING_GATE_MARGIN,
        class_margin=settings.LEARNING_GATE_CLASS_MARGIN,
        recent_margin=settings.LEARNING_GATE_RECENT_MARGIN,
        recent_noise_z=settings.LEARNING_GATE_RECENT_NOISE_Z,
    )
    decision = gate(
        candidate_metrics,
        parent_metrics,
        rules=rules,
        heldout=CHECK,
        recent=RECENT,
        feedback=cycle.inputs["feedback_stats"],
    )
    metrics = {"candidate": candidate_metrics, "parent": parent_metrics, "gate": decision.checks}
    with transaction.atomic():
        version = ModelVersion.objects.filter(name=name).first() or register_version(
            organization_id=organization_id,
            name=name,
            parent=parent,
            directory=out,
            manifest=manifest,
            hyperparameters=config.as_dict(),
            data_snapshot=snapshot,
            metrics=metrics,
            gate_reason=("passed: " if decision.passed else "blocked: ") + decision.reason,
        )
        _mark_used(cycle, version)
    promoted = False
    if decision.passed and settings.LEARNING_AUTO_PROMOTE:
        do_promote(version)
        promoted = True
    TrainingCycle.objects.filter(pk=cycle.pk).update(
        status=CycleStatus.SUCCEEDED, version=version, finished_at=timezone.now(), error=""
    )
    cycle.refresh_from_db()
    version.refresh_from_db()
    log.info(
        "training_cycle_done", cycle_id=cycle.pk, version=name, promoted=promoted, reason=decision.reason
    )
    return CycleOutcome(cycle, version, promoted)
