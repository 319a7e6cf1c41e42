"""Fitting heads on frozen pooled states: logistic regression folded into the heads' linear layers,
and temperature scaling for calibration.

This is the cheap way to get heads before any fine-tuning (the default version and the cold
start); the training service fine-tunes backbone and heads together instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from models.heads import ListeningHeads

SCALE_FLOOR = 1e-3  # relative to the median feature spread


@dataclass(frozen=True)
class LinearHead:
    """``logits = features @ weight.T + bias``, directly on the unscaled pooled state."""

    weight: np.ndarray  # [n_labels, hidden]
    bias: np.ndarray  # [n_labels]

    def logits(self, features: np.ndarray) -> np.ndarray:
        return features @ self.weight.T + self.bias


def fit_logistic_head(
    features: np.ndarray,
    labels: Sequence[str],
    label_order: Sequence[str],
    *,
    c: float = 1.0,
    class_weight: str | None = "balanced",
    seed: int = 0,
    max_iter: int = 2000,
) -> LinearHead:
    """Multinomial logistic regression on standardised features, folded back into one linear map.

    Standardisation makes the regularisation strength mean the same thing for every backbone
    (decoder hidden states have very uneven scales); folding it in keeps the head a plain
    ``nn.Linear`` on the pooled state. Every label in ``label_order`` must occur in ``labels``.
    """
    label_order = list(label_order)
    index = {label: i for i, label in enumerate(label_order)}
    if missing := set(label_order) - set(labels):
        raise ValueError(f"no training examples for {sorted(missing)[:5]}")
    if unknown := set(labels) - set(label_order):
        raise ValueError(f"labels outside the head's label set: {sorted(unknown)[:5]}")
    y = np.array([index[label] for label in labels])
    scaler = StandardScaler().fit(features)
    # A pooled dimension that is (nearly) constant for every text (MiniLM has a few at ~1e-32)
    # would be divided by its tiny spread: folded back, its weight is ~1e31 and the head's output
    # becomes float noise times that. Such a dimension carries no signal, so its scale is floored
    # at a small fraction of a typical dimension's and the regulariser keeps its weight small.
    scaler.scale_ = np.maximum(scaler.scale_, SCALE_FLOOR * float(np.median(scaler.scale_)))
    clf = LogisticRegression(C=c, class_weight=class_weight, max_iter=max_iter, random_state=seed)
    clf.fit(scaler.transform(features), y)
    if list(clf.classes_) != list(range(len(label_order))):
        raise ValueError("classifier classes do not cover the label order")
    coef = clf.coef_ if clf.coef_.shape[0] == len(label_order) else np.vstack([-clf.coef_, clf.coef_]) / 2
    intercept = (
        clf.intercept_ if clf.coef_.shape[0] == len(label_order) else np.array([-1, 1]) * clf.intercept_ / 2
    )
    weight = coef / scaler.scale_
    bias = intercept - weight @ scaler.mean_
    return LinearHead(weight.astype(np.float32), bias.astype(np.float32))


def fit_temperature(logits: np.ndarray, true_index: np.ndarray) -> float:
    """The temperature T > 0 minimising the negative log-likelihood of ``softmax(logits / T)``.

    Temperature scaling (Guo et al., 2017) keeps every argmax, so it changes confidence only.
    """
    logits = np.asarray(logits, dtype=np.float64)
    true_index = np.asarray(true_index)

    def nll(log_t: float) -> float:
        scaled = log_softmax(logits / np.exp(log_t), axis=1)
        return float(-scaled[np.arange(len(true_index)), true_index].mean())

    result = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))


def install_head(heads: ListeningHeads, task: str, head: LinearHead, temperature: float = 1.0) -> None:
    """Copy a fitted head into ``heads`` (shapes must match the task's label map)."""
    layer = heads.classifier(task)
    if tuple(layer.weight.shape) != head.weight.shape:
        raise ValueError(
            f"head {task!r}: expected weight {tuple(layer.weight.shape)}, got {head.weight.shape}"
        )
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(head.weight))
        layer.bias.copy_(torch.from_numpy(head.bias))
    heads.set_temperature(task, temperature)
