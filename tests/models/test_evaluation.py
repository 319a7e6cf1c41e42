from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from models import datasets
from models.evaluation import (
    classification_metrics,
    compare_with_vader,
    evaluate_file,
    expected_calibration_error,
    format_comparison,
)
from models.inference import ListeningModel
from models.labels import SENTIMENT


def test_metrics_on_a_hand_computed_example() -> None:
    truth = ["negative", "negative", "neutral", "positive", "positive", "positive"]
    pred = ["negative", "neutral", "neutral", "positive", "positive", "negative"]
    m = classification_metrics(truth, pred, SENTIMENT)
    # recalls: negative 1/2, neutral 1/1, positive 2/3
    assert m.per_class_recall == pytest.approx({"negative": 50.0, "neutral": 100.0, "positive": 200 / 3})
    assert m.macro_recall == pytest.approx((50 + 100 + 200 / 3) / 3)
    assert m.accuracy == pytest.approx(400 / 6)
    # F1: negative p=1/2 r=1/2 -> 0.5; neutral p=1/2 r=1 -> 2/3; positive p=1 r=2/3 -> 0.8
    assert m.macro_f1 == pytest.approx(100 * (0.5 + 2 / 3 + 0.8) / 3)
    assert m.confusion == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert m.ece is None and m.n == 6


def test_ece_is_zero_when_confidence_matches_accuracy() -> None:
    # Confidence 0.75 everywhere and 3 of 4 right in the bin.
    probs = np.array([[0.75, 0.25]] * 4)
    assert expected_calibration_error(probs, np.array([0, 0, 0, 1])) == pytest.approx(0.0)
    # Fully confident and always wrong: the worst case.
    assert expected_calibration_error(np.array([[1.0, 0.0]] * 3), np.array([1, 1, 1])) == pytest.approx(100.0)


def test_metrics_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="truths"):
        classification_metrics(["positive"], [], SENTIMENT)
    with pytest.raises(ValueError, match="outside"):
        classification_metrics(["great"], ["positive"], SENTIMENT)
    with pytest.raises(ValueError, match="no examples"):
        classification_metrics([], [], SENTIMENT)


def test_comparison_with_vader_on_validation(default_model: ListeningModel, shared_data: object) -> None:
    data = datasets.sentiment("val").head(300)

    def scorer(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        out = default_model.predict(texts)
        return out.sentiment, out.sentiment_probs

    results = compare_with_vader(data, scorer, SENTIMENT)
    assert set(results) == {"ours", "vader"}
    assert results["ours"].ece is not None and results["vader"].ece is None
    # Both well above the always-neutral 33.3 on the official metric.
    assert results["ours"].macro_recall > 45 and results["vader"].macro_recall > 45
    table = format_comparison(results, title="val")
    assert "macro recall" in table and "ours" in table and "vader" in table


def test_evaluate_file_prints_the_side_by_side_table(default_model: ListeningModel, tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "small.tsv"
    path.write_text(
        "label\ttext\npositive\tI love this!\nnegative\tThis is awful.\nneutral\tIt is Tuesday.\n"
    )
    table = evaluate_file(path)
    assert "3 texts" in table and "vader" in table and "recall negative" in table
