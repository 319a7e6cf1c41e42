"""Custom classifiers: an organization's own labels over the shared embedding (no Django).

A classifier reads the L2-normalised embedding that the enrichment forward pass already computes
(``models.inference.Predictions.embedding``), so labelling a mention costs one small matrix product,
not a second pass of the encoder. Three recipes, chosen by the data there is:

- ``zero_shot``: descriptions only. Each label's prototype is the embedding of its name and
  description; a text's scores are its cosine similarities to the prototypes.
- ``few_shot``: a few examples per label. A logistic head on the embedding with each label's
  description prototype as one more example, optionally after SetFit's contrastive step
  (Tunstall et al., 2022: sampled same-label / different-label pairs, a cosine-similarity loss).
  The tuned part would be a residual adapter over the pooled embedding, not the whole encoder,
  because the encoder is shared by every head and every classifier of every organization and runs
  once per mention; measured, the step loses to the plain head here (:class:`FewShotConfig`).
- ``supervised``: enough tags that a regularised logistic head on the adapted embedding beats the
  prior; the same code path with the contrastive step and a cross-validated regularisation.

Every recipe ends with a calibrated temperature and a confidence threshold: a text whose best label
is below it is "none of these" (an empty label list).

Files (a regular model version directory, :mod:`models.artifacts`): ``heads.safetensors`` holds
``weight`` ``[L, D]``, ``bias`` ``[L]`` and ``adapter`` ``[D, D]``; the manifest's ``classifier``
block holds the recipe, ``multi_label``, ``temperature`` and ``threshold``.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from models.artifacts import HEADS_FILE, ArtifactError, read_manifest, write_manifest

RECIPES = ("zero_shot", "few_shot", "supervised")
# Cosine similarities of MiniLM sentence embeddings span roughly [-0.1, 0.8]: a scale of 20 turns
# them into logits whose softmax separates a clear best label from the rest.
ZERO_SHOT_SCALE = 20.0


def normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


@dataclass(frozen=True)
class LabelHead:
    """A fitted classifier over normalised embeddings ``[N, D]``."""

    labels: tuple[str, ...]
    multi_label: bool
    adapter: np.ndarray  # [D, D]: features = normalise(x + x @ adapter.T)
    weight: np.ndarray  # [L, D]
    bias: np.ndarray  # [L]
    temperature: float = 1.0
    threshold: float = 0.0  # below it (best label's probability): "none of these"
    recipe: str = "zero_shot"

    def features(self, embedding: np.ndarray) -> np.ndarray:
        x = normalise(embedding)
        return normalise(x + x @ self.adapter.T)

    def probabilities(self, embedding: np.ndarray) -> np.ndarray:
        """``[N, L]``: a softmax over the labels (single-label) or one sigmoid per label."""
        logits = (self.features(embedding) @ self.weight.T + self.bias) / self.temperature
        return _sigmoid(logits) if self.multi_label else _softmax(logits)

    def assign(self, probs: np.ndarray) -> list[list[str]]:
        """The labels of each row: the best one at or above the threshold (single-label), every one
        at or above it (multi-label), or none."""
        out: list[list[str]] = []
        for row in probs:
            if self.multi_label:
                out.append([self.labels[i] for i in np.flatnonzero(row >= self.threshold)])
            else:
                best = int(row.argmax())
                out.append([self.labels[best]] if row[best] >= self.threshold else [])
        return out


def uncertainty(probs: np.ndarray, multi_label: bool) -> np.ndarray:
    """``[N]`` in [0, 1], 1 = most uncertain: one minus the margin between the two best labels
    (single-label), or how close the least decided label is to 0.5 (multi-label)."""
    if probs.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    if multi_label:
        return (1.0 - 2.0 * np.abs(probs - 0.5).min(axis=1)).astype(np.float32)
    top = np.sort(probs, axis=1)[:, ::-1]
    second = top[:, 1] if probs.shape[1] > 1 else np.zeros(len(top))
    return (1.0 - (top[:, 0] - second)).astype(np.float32)


@dataclass(frozen=True)
class FewShotConfig:
    """The few-shot recipe's knobs.

    ``pairs_per_example`` > 0 turns on SetFit's contrastive step (that many same/different-label
    pairs per example, SetFit's ``num_iterations``) on the adapter. It is off by default because it
    lost on BANKING77 over the frozen shared encoder (one seed, ``benchmarks/classifiers.py`` rows):
    at 10 examples per label 80.7 macro-F1 with it against 82.7 without, at 32 87.1 against 89.7,
    and it cost 20-40x the training time. What wins is the description prototype as one more
    example per label and a weaker regularisation than scikit-learn's default (C=8 on unit vectors).
    """

    pairs_per_example: int = 0
    epochs: int = 4
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 1e-3
    c_values: tuple[float, ...] = (8.0,)  # logistic regularisation; several: chosen by 3-fold CV
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def zero_shot_head(prototypes: np.ndarray, labels: Sequence[str], *, multi_label: bool) -> LabelHead:
    """Prototypes ``[L, D]`` (embeddings of each label's name and description) as the head."""
    protos = normalise(prototypes)
    dim = protos.shape[1]
    bias = np.zeros(len(labels), dtype=np.float32)
    if multi_label:  # a sigmoid per label: centred where a text is about as close as a typical match
        bias -= ZERO_SHOT_SCALE * 0.35
    return LabelHead(
        labels=tuple(labels),
        multi_label=multi_label,
        adapter=np.zeros((dim, dim), dtype=np.float32),
        weight=(protos * ZERO_SHOT_SCALE).astype(np.float32),
        bias=bias,
        temperature=1.0,
        # Without tags to calibrate on: the best label must be clearly above an even split.
        threshold=0.5 if multi_label else min(0.5, 1.5 / len(labels)),
        recipe="zero_shot",
    )


def contrastive_adapter(x: np.ndarray, y: np.ndarray, config: FewShotConfig) -> np.ndarray:
    """SetFit's contrastive step on frozen features: sample same-label pairs (target 1) and
    different-label pairs (target 0), fit a residual linear adapter with a cosine-similarity
    (mean squared error) loss. Returns the adapter ``[D, D]`` (zeros: the identity map, when the
    step is off or there are no pairs)."""
    dim = x.shape[1]
    if config.pairs_per_example <= 0:
        return np.zeros((dim, dim), dtype=np.float32)
    import torch

    rng = random.Random(config.seed)
    by_label: dict[int, list[int]] = {}
    for i, label in enumerate(y.tolist()):
        by_label.setdefault(int(label), []).append(i)
    pairs: list[tuple[int, int, float]] = []
    indices = list(range(len(y)))
    for i in indices:
        same = by_label[int(y[i])]
        for _ in range(config.pairs_per_example // 2):
            if len(same) > 1:
                pairs.append((i, rng.choice([j for j in same if j != i] or same), 1.0))
            j = rng.choice(indices)
            if y[j] != y[i]:
                pairs.append((i, j, 0.0))
    if not pairs:
        return np.zeros((dim, dim), dtype=np.float32)
    torch.manual_seed(config.seed)
    features = torch.from_numpy(normalise(x))
    adapter = torch.nn.Linear(dim, dim, bias=False)
    torch.nn.init.zeros_(adapter.weight)
    optimiser = torch.optim.AdamW(
        adapter.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    left = torch.tensor([p[0] for p in pairs])
    right = torch.tensor([p[1] for p in pairs])
    target = torch.tensor([p[2] for p in pairs])
    generator = torch.Generator().manual_seed(config.seed)
    for _ in range(config.epochs):
        order = torch.randperm(len(pairs), generator=generator)
        for start in range(0, len(pairs), config.batch_size):
            batch = order[start : start + config.batch_size]
            a = features[left[batch]]
            b = features[right[batch]]
            a = torch.nn.functional.normalize(a + adapter(a), dim=-1)
            b = torch.nn.functional.normalize(b + adapter(b), dim=-1)
            loss = torch.nn.functional.mse_loss((a * b).sum(-1), target[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return adapter.weight.detach().numpy().astype(np.float32)


def _fit_linear(
    features: np.ndarray, y: np.ndarray, n_labels: int, *, multi_label: bool, c: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Logistic head on normalised features: multinomial (single-label) or one-vs-rest."""
    from sklearn.linear_model import LogisticRegression

    dim = features.shape[1]
    if not multi_label:
        clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced", random_state=seed)
        clf.fit(features, y)
        weight = np.zeros((n_labels, dim), dtype=np.float32)
        bias = np.full(n_labels, -1e4, dtype=np.float32)  # a label without examples is never chosen
        coef, intercept = clf.coef_, clf.intercept_
        if coef.shape[0] == 1:  # binary: sklearn keeps one row
            coef, intercept = np.vstack([-coef, coef]) / 2, np.array([-1.0, 1.0]) * intercept / 2
        for row, label in enumerate(clf.classes_):
            weight[int(label)], bias[int(label)] = coef[row], intercept[row]
        return weight, bias
    weight = np.zeros((n_labels, dim), dtype=np.float32)
    bias = np.full(n_labels, -1e4, dtype=np.float32)
    for label in range(n_labels):
        target = (y == label).astype(int) if y.ndim == 1 else y[:, label].astype(int)
        if target.min() == target.max():
            continue
        clf = LogisticRegression(C=c, max_iter=2000, class_weight="balanced", random_state=seed)
        clf.fit(features, target)
        weight[label], bias[label] = clf.coef_[0], clf.intercept_[0]
    return weight, bias


def fit_head(
    embeddings: np.ndarray,
    targets: Sequence[Sequence[str]],
    prototypes: np.ndarray,
    labels: Sequence[str],
    *,
    multi_label: bool,
    recipe: str = "few_shot",
    config: FewShotConfig | None = None,
) -> LabelHead:
    """Fit the few-shot or supervised recipe on example embeddings ``[N, D]`` and their labels
    (one per row single-label; any number multi-label). The prototypes count as one example each.

    The temperature and threshold are left at 1 and 0: :func:`calibrate` sets them on rows the
    head did not learn from.
    """
    if recipe not in ("few_shot", "supervised"):
        raise ValueError(f"recipe must be few_shot or supervised, got {recipe!r}")
    config = config or FewShotConfig()
    labels = tuple(labels)
    index = {label: i for i, label in enumerate(labels)}
    rows = [(e, [index[t] for t in ts if t in index]) for e, ts in zip(embeddings, targets, strict=True)]
    rows = [(e, ts) for e, ts in rows if ts]
    x = normalise(np.vstack([np.asarray([e for e, _ in rows]).reshape(-1, prototypes.shape[1]), prototypes]))
    single = np.array([ts[0] for _, ts in rows] + list(range(len(labels))), dtype=np.int64)
    if multi_label:
        y: np.ndarray = np.zeros((len(x), len(labels)), dtype=np.int64)
        for r, (_, ts) in enumerate(rows):
            y[r, ts] = 1
        y[len(rows) + np.arange(len(labels)), np.arange(len(labels))] = 1
    else:
        y = single
    adapter = contrastive_adapter(x, single, config)
    head = LabelHead(labels, multi_label, adapter, np.zeros((len(labels), x.shape[1])), np.zeros(len(labels)))
    features = head.features(x)
    c = _choose_c(features, y, single, len(labels), multi_label=multi_label, config=config)
    weight, bias = _fit_linear(features, y, len(labels), multi_label=multi_label, c=c, seed=config.seed)
    return LabelHead(labels, multi_label, adapter, weight, bias, recipe=recipe)


def _choose_c(
    features: np.ndarray,
    y: np.ndarray,
    single: np.ndarray,
    n_labels: int,
    *,
    multi_label: bool,
    config: FewShotConfig,
) -> float:
    """The regularisation with the best 3-fold macro-F1, when every label has 3 rows; else the middle."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(single, minlength=n_labels)
    if len(config.c_values) == 1 or counts.min() < 3 or multi_label:
        return config.c_values[len(config.c_values) // 2]
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=config.seed)
    best, best_score = config.c_values[0], -1.0
    for c in config.c_values:
        truth: list[int] = []
        guess: list[int] = []
        for train, test in folds.split(features, single):
            weight, bias = _fit_linear(features[train], y[train], n_labels, multi_label=False, c=c, seed=0)
            guess += (features[test] @ weight.T + bias).argmax(axis=1).tolist()
            truth += single[test].tolist()
        score = float(f1_score(truth, guess, average="macro"))
        if score > best_score:
            best, best_score = c, score
    return best


def calibrate(head: LabelHead, embeddings: np.ndarray, targets: Sequence[Sequence[str]]) -> LabelHead:
    """Fit the temperature (single-label: the NLL of the right label) and the confidence threshold
    on rows the head did not learn from. The threshold maximises F1 of the answered rows: precision
    = right answers / answers, recall = right answers / rows; a row below it is "none of these"."""
    from models.head_training import fit_temperature

    if len(embeddings) == 0:
        return head
    index = {label: i for i, label in enumerate(head.labels)}
    logits = head.features(embeddings) @ head.weight.T + head.bias
    temperature = head.temperature
    if not head.multi_label:
        true = np.array([index.get(ts[0], -1) if ts else -1 for ts in targets])
        known = true >= 0
        if known.sum() >= 2:
            temperature = fit_temperature(logits[known], true[known])
    trial = LabelHead(**{**head.__dict__, "temperature": temperature, "threshold": 0.0})
    probs = trial.probabilities(embeddings)
    truth = [set(ts) for ts in targets]
    best_threshold, best_f1 = 0.0, -1.0
    for threshold in np.unique(np.concatenate([[0.0], np.round(probs.max(axis=1), 4)])):
        answers = LabelHead(**{**trial.__dict__, "threshold": float(threshold)}).assign(probs)
        answered = sum(1 for a in answers if a)
        right = sum(
            len(set(a) & t) / max(len(a | t), 1) for a, t in zip(map(set, answers), truth, strict=True)
        )
        if not answered:
            continue
        precision, recall = right / answered, right / len(truth)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if f1 > best_f1 + 1e-9:
            best_threshold, best_f1 = float(threshold), f1
    return LabelHead(**{**trial.__dict__, "threshold": best_threshold})


def macro_f1(head: LabelHead, embeddings: np.ndarray, targets: Sequence[Sequence[str]]) -> float:
    """Macro-F1 (points) over the head's labels of what it serves, "none of these" counting as a miss."""
    from sklearn.metrics import f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    if len(embeddings) == 0:
        return 0.0
    answers = head.assign(head.probabilities(embeddings))
    binarizer = MultiLabelBinarizer(classes=list(head.labels))
    truth = binarizer.fit_transform([[t for t in ts if t in head.labels] for ts in targets])
    guess = binarizer.transform(answers)
    present = truth.sum(axis=0) > 0
    if not present.any():
        return 0.0
    scores = f1_score(truth, guess, average=None, zero_division=0)
    return float(100 * np.asarray(scores)[present].mean())


# --- files --------------------------------------------------------------------------------------


def save_head(
    head: LabelHead, directory: str | Path, *, version: str, encoder: dict[str, Any], extra: dict[str, Any]
) -> dict[str, Any]:
    """Write ``head`` as a model version directory; ``encoder`` is the manifest ``backbone`` block
    of the version whose embedding it reads (plus its ``max_length``). Returns the manifest."""
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise ArtifactError(f"refusing to overwrite non-empty directory {directory}")
    directory.mkdir(parents=True, exist_ok=True)
    save_file(
        {
            "weight": np.ascontiguousarray(head.weight, dtype=np.float32),
            "bias": np.ascontiguousarray(head.bias, dtype=np.float32),
            "adapter": np.ascontiguousarray(head.adapter, dtype=np.float32),
        },
        str(directory / HEADS_FILE),
    )
    manifest = {
        "version": version,
        "backbone": encoder["backbone"],
        "max_length": int(encoder["max_length"]),
        "heads": {"labels": list(head.labels)},
        "classifier": {
            "recipe": head.recipe,
            "multi_label": head.multi_label,
            "temperature": float(head.temperature),
            "threshold": float(head.threshold),
            "encoder_version": encoder.get("version", ""),
        },
        **json.loads(json.dumps(extra)),
    }
    return write_manifest(directory, manifest)


def load_head(directory: str | Path, *, verify: bool = True) -> LabelHead:
    """Load a head saved by :func:`save_head`; ArtifactError when files or checksums do not match."""
    manifest = read_manifest(directory, verify=verify)
    block = manifest.get("classifier")
    if not isinstance(block, dict) or block.get("recipe") not in RECIPES:
        raise ArtifactError(f"{directory} is not a classifier version")
    tensors = load_file(str(Path(directory) / HEADS_FILE))
    labels = tuple(manifest["heads"]["labels"])
    if tensors["weight"].shape[0] != len(labels):
        raise ArtifactError(f"{directory}: weight rows do not match the labels")
    return LabelHead(
        labels=labels,
        multi_label=bool(block["multi_label"]),
        adapter=tensors["adapter"],
        weight=tensors["weight"],
        bias=tensors["bias"],
        temperature=float(block["temperature"]),
        threshold=float(block["threshold"]),
        recipe=str(block["recipe"]),
    )


def balanced_rows(labels: Sequence[str], per_label: int, seed: int) -> list[int]:
    """Indices of up to ``per_label`` rows of each label (benchmarks and splits), in a seeded order."""
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    picked = [rng.sample(rows, min(per_label, len(rows))) for rows in by_label.values()]
    return sorted(itertools.chain.from_iterable(picked))
