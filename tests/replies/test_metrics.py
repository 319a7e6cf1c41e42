"""The reply gate's metrics and decision (pure)."""

from __future__ import annotations

import pytest

from models.generation.metrics import decide, recall_at, rouge_l


def test_rouge_l() -> None:
    assert rouge_l("So sorry, we will repair it", "so sorry we will repair it") == 1.0
    assert rouge_l("", "anything") == 0.0
    assert rouge_l("repair it please", "we will repair it") == pytest.approx(
        2 * (2 / 3) * (2 / 4) / (2 / 3 + 2 / 4)
    )


def test_recall_at_k() -> None:
    scores = [-1.0, -0.5, -2.0, -0.1]
    assert recall_at(scores, 3, 1) == 1.0
    assert recall_at(scores, 1, 1) == 0.0 and recall_at(scores, 1, 2) == 1.0
    assert recall_at([-1.0, -1.0], 0, 1) == 0.0  # a tie is no win


def test_gate_blocks_a_regression_and_promotes_otherwise() -> None:
    active = {"log_likelihood": -2.0, "recall_at_1": 0.3, "recall_at_5": 0.6, "rouge_l": 0.2, "cosine": 0.5}
    better = {**active, "log_likelihood": -1.7, "rouge_l": 0.25}
    assert decide(better, active).promote
    worse = {**better, "recall_at_5": 0.5}
    decision = decide(worse, active)
    assert not decision.promote and "recall_at_5" in decision.reason
    assert decide({**active, "cosine": 0.495}, active).promote  # within tolerance
