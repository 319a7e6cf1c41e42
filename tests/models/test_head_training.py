from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from models.head_training import fit_logistic_head, fit_temperature, install_head
from models.heads import ListeningHeads


def _blobs(n_classes: int, seed: int = 0) -> tuple[np.ndarray, list[str], list[str]]:
    rng = np.random.default_rng(seed)
    labels = [f"c{i}" for i in range(n_classes)]
    centres = rng.normal(0, 3, size=(n_classes, 6))
    y = rng.integers(0, n_classes, size=600)
    # Uneven feature scales, as decoder hidden states have.
    x = (centres[y] + rng.normal(0, 1, size=(600, 6))) * np.array([1, 10, 100, 0.1, 1, 1000])
    return x, [labels[i] for i in y], labels


@pytest.mark.parametrize("n_classes", [2, 4])
def test_folded_head_classifies_on_raw_features(n_classes: int) -> None:
    x, y, labels = _blobs(n_classes)
    head = fit_logistic_head(x, y, labels)
    assert head.weight.shape == (n_classes, 6) and head.bias.shape == (n_classes,)
    predicted = [labels[i] for i in head.logits(x).argmax(axis=1)]
    assert np.mean(np.array(predicted) == np.array(y)) > 0.95
    heads = ListeningHeads(6, {"t": labels})
    install_head(heads, "t", head, temperature=2.0)
    assert float(heads.temperature("t")) == 2.0


def test_dead_feature_gets_no_runaway_weight() -> None:
    """A pooled dimension that is ~1e-32 for every text (MiniLM has some) must not get a ~1e31
    weight: its contribution would be float noise times that."""
    x, y, labels = _blobs(3)
    rng = np.random.default_rng(2)
    dead = 1e-32 + rng.normal(0, 1e-34, size=(len(x), 1))
    head = fit_logistic_head(np.hstack([x, dead]), y, labels)
    assert np.abs(head.weight[:, -1]).max() < 1e3
    logits = head.logits(np.hstack([x, dead]))
    assert np.isfinite(logits).all()
    assert np.mean(np.array([labels[i] for i in logits.argmax(axis=1)]) == np.array(y)) > 0.95


def test_missing_class_is_rejected() -> None:
    x, y, labels = _blobs(3)
    with pytest.raises(ValueError, match="no training examples"):
        fit_logistic_head(x, y, [*labels, "never"])


def test_temperature_recovers_the_generating_temperature() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 4, size=(5000, 3))
    truth = np.array([rng.choice(3, p=p) for p in softmax(logits / 2.5, axis=1)])
    assert fit_temperature(logits, truth) == pytest.approx(2.5, rel=0.1)
