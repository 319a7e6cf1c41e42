"""Training a custom classifier: the recipe the data allows, a regular registry version, the gate.

Runs in ``train`` workers (it loads the language model to embed examples). The recipe
(:mod:`models.classifiers`) follows the data: descriptions only → ``zero_shot``; examples or tags
→ ``few_shot``; at least ``SUPERVISED_MIN_PER_LABEL`` rows per label on average → ``supervised``.

Analysts' tags are split by a stable hash of the mention id: one in ``HELDOUT_EVERY`` is held out
and never trained on. The gate: a candidate is promoted only if it beats the active version's
macro-F1 on those held-out tags; while there are none, the candidate's cross-validated macro-F1 on
its training rows is compared with the active version's score on the same rows (a zero-shot
version never saw them), or with the active version's own cross-validated score. The first
version of a classifier has nothing to beat.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from listening.classifiers.apply import head_of
from listening.classifiers.models import Classifier, ClassifierLabel, ClassifierTag
from listening.learning.models import ModelStatus, ModelVersion
from listening.learning.registry import do_promote, get_active_version, register_version
from listening.mentions.enrichment import load_version
from models.classifiers import (
    FewShotConfig,
    LabelHead,
    calibrate,
    fit_head,
    macro_f1,
    normalise,
    zero_shot_head,
)

log = structlog.get_logger(__name__)

HELDOUT_EVERY = 4
SUPERVISED_MIN_PER_LABEL = 32
CV_FOLDS = 3


def prototype_text(label: ClassifierLabel) -> str:
    """What a label's prototype embeds: its name in words and its description."""
    name = label.name.replace("_", " ").replace("/", " or ")
    return f"{name}: {label.description}" if label.description else name


def is_heldout(mention_id: int) -> bool:
    digest = hashlib.sha256(f"classifier-heldout:{mention_id}".encode()).digest()
    return digest[0] % HELDOUT_EVERY == 0


@dataclass(frozen=True)
class TrainOutcome:
    version: ModelVersion
    promoted: bool
    reason: str


def _capped_tags(classifier: Classifier) -> tuple[list[ClassifierTag], list[ClassifierTag]]:
    """The latest tag per mention, at most ``CLASSIFIER_TAG_CAP_PER_USER`` per analyst (newest
    first); returns (kept, dropped)."""
    cap = int(settings.CLASSIFIER_TAG_CAP_PER_USER)
    seen: set[int] = set()
    per_author: dict[str, int] = defaultdict(int)
    kept: list[ClassifierTag] = []
    dropped: list[ClassifierTag] = []
    for tag in ClassifierTag.objects.filter(classifier=classifier).order_by("-created_at", "-id"):
        if tag.mention_id in seen:
            dropped.append(tag)
            continue
        seen.add(tag.mention_id)
        per_author[tag.author_name] += 1
        (kept if per_author[tag.author_name] <= cap else dropped).append(tag)
    return kept, dropped


def _cv_score(
    embeddings: np.ndarray,
    targets: Sequence[Sequence[str]],
    prototypes: np.ndarray,
    names: Sequence[str],
    *,
    multi_label: bool,
    recipe: str,
) -> float | None:
    """Cross-validated macro-F1 of ``recipe`` on the rows (None with too few rows to fold)."""
    if len(embeddings) < CV_FOLDS * 2:
        return None
    folds = np.arange(len(embeddings)) % CV_FOLDS
    scores = []
    for fold in range(CV_FOLDS):
        train, test = folds != fold, folds == fold
        head = fit_head(
            embeddings[train],
            [targets[int(i)] for i in np.flatnonzero(train)],
            prototypes,
            names,
            multi_label=multi_label,
            recipe=recipe,
            config=FewShotConfig(),
        )
        head = LabelHead(**{**head.__dict__, "threshold": 0.0})
        scores.append(macro_f1(head, embeddings[test], [targets[int(i)] for i in np.flatnonzero(test)]))
    return float(np.mean(scores))


def do_train_classifier(classifier_id: int) -> TrainOutcome | None:
    """Train a candidate version of the classifier, register it, and promote it when it passes the
    gate (and ``LEARNING_AUTO_PROMOTE`` is on). None when the classifier no longer exists."""
    classifier = Classifier.objects.filter(pk=classifier_id).first()
    if classifier is None:
        log.info("classifier_gone", classifier_id=classifier_id)
        return None
    labels = list(classifier.labels.all())
    names = [label.name for label in labels]
    encoder = get_active_version(classifier.organization_id)
    model = load_version(encoder)
    started = timezone.now()
    kept, dropped = _capped_tags(classifier)
    known = set(names)
    kept = [t for t in kept if set(t.labels) <= known and (classifier.multi_label or len(t.labels) == 1)]
    heldout_tags = [t for t in kept if is_heldout(t.mention_id)]
    train_tags = [t for t in kept if not is_heldout(t.mention_id)]
    texts = [prototype_text(label) for label in labels]
    examples = [(text, [label.name]) for label in labels for text in label.examples]
    rows = examples + [(t.text, list(t.labels)) for t in train_tags]
    heldout = [(t.text, list(t.labels)) for t in heldout_tags]
    embedded = normalise(model.pooled(texts + [t for t, _ in rows] + [t for t, _ in heldout]))
    prototypes = embedded[: len(texts)]
    train_x = embedded[len(texts) : len(texts) + len(rows)]
    heldout_x = embedded[len(texts) + len(rows) :]
    train_y = [y for _, y in rows]
    heldout_y = [y for _, y in heldout]
    recipe = "zero_shot"
    if rows:
        recipe = "supervised" if len(rows) >= SUPERVISED_MIN_PER_LABEL * len(names) else "few_shot"
    if recipe == "zero_shot":
        head = zero_shot_head(prototypes, names, multi_label=classifier.multi_label)
    else:
        head = fit_head(
            train_x, train_y, prototypes, names, multi_label=classifier.multi_label, recipe=recipe
        )
    if len(heldout) >= 2:
        head = calibrate(head, heldout_x, heldout_y)
    elif recipe != "zero_shot":  # nothing to calibrate on yet: the zero-shot rule of thumb
        rule = zero_shot_head(prototypes, names, multi_label=classifier.multi_label).threshold
        head = LabelHead(**{**head.__dict__, "threshold": rule})
    metrics: dict[str, Any] = {
        "recipe": recipe,
        "labels": len(names),
        "label_names": names,
        "examples": len(examples),
        "train_tags": len(train_tags),
        "heldout_tags": len(heldout),
    }
    if heldout:
        metrics["heldout_macro_f1"] = round(macro_f1(head, heldout_x, heldout_y), 2)
    if recipe != "zero_shot":
        cv = _cv_score(train_x, train_y, prototypes, names, multi_label=classifier.multi_label, recipe=recipe)
        if cv is not None:
            metrics["cv_macro_f1"] = round(cv, 2)
    active = ModelVersion.objects.filter(classifier=classifier, status=ModelStatus.ACTIVE).first()
    passed, reason = _gate(metrics, active, heldout_x, heldout_y, train_x, train_y, encoder=encoder.name)
    metrics["seconds"] = round((timezone.now() - started).total_seconds(), 2)
    name = f"classifier-{classifier.pk}-{timezone.now():%Y%m%d%H%M%S%f}"
    directory = Path(settings.MODELS_DIR) / "classifiers" / name
    manifest = _save(head, directory, name, model.manifest, classifier, metrics)
    with transaction.atomic():
        version = register_version(
            organization_id=classifier.organization_id,
            name=name,
            parent=active,
            directory=directory,
            manifest=manifest,
            hyperparameters={"recipe": recipe, "threshold": head.threshold, "temperature": head.temperature},
            data_snapshot={
                "examples": len(examples),
                "tags": [t.pk for t in train_tags],
                "heldout_tags": [t.pk for t in heldout_tags],
                "encoder": encoder.name,
            },
            metrics=metrics,
            gate_reason=("passed: " if passed else "blocked: ") + reason,
            classifier_id=classifier.pk,
        )
        ClassifierTag.objects.filter(pk__in=[t.pk for t in train_tags]).update(
            used_in=version, disposition="trained"
        )
        ClassifierTag.objects.filter(pk__in=[t.pk for t in heldout_tags]).update(disposition="held out")
        ClassifierTag.objects.filter(pk__in=[t.pk for t in dropped], disposition="").update(
            disposition="dropped: a newer tag of the mention, or over the per-analyst cap"
        )
        promoted = passed and bool(settings.LEARNING_AUTO_PROMOTE)
        if promoted:
            version = do_promote(version, reason="gate passed")
    log.info(
        "classifier_trained", classifier_id=classifier.pk, recipe=recipe, promoted=promoted, reason=reason
    )
    return TrainOutcome(version, promoted, reason)


def _gate(
    metrics: dict[str, Any],
    active: ModelVersion | None,
    heldout_x: np.ndarray,
    heldout_y: list[list[str]],
    train_x: np.ndarray,
    train_y: list[list[str]],
    *,
    encoder: str,
) -> tuple[bool, str]:
    if active is None:
        return True, "the classifier's first version"
    try:
        active_head = head_of(active)
    except ValueError:  # ArtifactError: its files are gone or damaged; anything beats nothing
        return True, f"the active version {active.name} cannot be loaded"
    if tuple(active_head.labels) != tuple(metrics["label_names"]):
        return True, "the labels changed since the active version"
    if heldout_y:
        mine = float(metrics["heldout_macro_f1"])
        theirs = round(macro_f1(active_head, heldout_x, heldout_y), 2)
        metrics["active_heldout_macro_f1"] = theirs
        verdict = mine > theirs
        return verdict, f"held-out tags macro-F1 {mine:.1f} vs active {theirs:.1f} ({len(heldout_y)} tags)"
    if (active.data_snapshot or {}).get("encoder") != encoder:
        # The active head was fitted on another language model's embeddings: the training rows say
        # nothing about how it reads this model's, and a head of the model that is served wins.
        return True, f"the language model changed since the active version (now {encoder})"
    if "cv_macro_f1" not in metrics:
        return False, "no held-out tags and too few rows to cross-validate: nothing shows it is better"
    mine = float(metrics["cv_macro_f1"])
    if active_head.recipe == "zero_shot":
        scoring = LabelHead(**{**active_head.__dict__, "threshold": 0.0})
        theirs = round(macro_f1(scoring, train_x, train_y), 2)
    elif "cv_macro_f1" in active.metrics:
        theirs = float(active.metrics["cv_macro_f1"])
    else:
        return False, "no held-out tags to compare with the active version"
    metrics["active_macro_f1_same_rows"] = theirs
    return mine > theirs, f"cross-validated macro-F1 {mine:.1f} vs active {theirs:.1f} (no held-out tags yet)"


def _save(
    head: LabelHead,
    directory: Path,
    name: str,
    encoder_manifest: dict[str, Any],
    classifier: Classifier,
    metrics: dict[str, Any],
) -> dict[str, Any]:
    from models.classifiers import save_head

    return save_head(
        head,
        directory,
        version=name,
        encoder={
            "backbone": encoder_manifest["backbone"],
            "max_length": encoder_manifest["max_length"],
            "version": encoder_manifest["version"],
        },
        extra={
            "metrics": metrics,
            "training": {"classifier_id": classifier.pk, "classifier": classifier.name},
        },
    )
