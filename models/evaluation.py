"""Classification metrics and the side-by-side comparison with the VADER lexicon baseline.

Macro recall is the official TweetEval sentiment metric; macro-F1 and accuracy are reported beside
it, with the per-class confusion matrix and the expected calibration error of the probabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

from models.datasets import LabelledTexts, read_label_text_tsv
from models.lexicon import vader_labels


@dataclass(frozen=True)
class Metrics:
    """Scores in percent (0-100); ``ece`` in percent too, None when no probabilities were given."""

    macro_recall: float
    macro_f1: float
    accuracy: float
    labels: tuple[str, ...]
    confusion: list[list[int]]  # rows: true label, columns: predicted label, in ``labels`` order
    per_class_recall: dict[str, float]
    ece: float | None = None
    n: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "macro_recall": round(self.macro_recall, 2),
            "macro_f1": round(self.macro_f1, 2),
            "accuracy": round(self.accuracy, 2),
            "ece": None if self.ece is None else round(self.ece, 2),
            "per_class_recall": {k: round(v, 2) for k, v in self.per_class_recall.items()},
            "confusion": self.confusion,
            "labels": list(self.labels),
            "n": self.n,
        }


def expected_calibration_error(probs: np.ndarray, true_index: np.ndarray, *, bins: int = 15) -> float:
    """Top-label ECE in percent: mean |confidence - accuracy| over equal-width confidence bins,
    weighted by the share of examples in each bin."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or len(probs) != len(true_index):
        raise ValueError("probs must be [N, C] with one true index per row")
    if len(probs) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(true_index)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            ece += in_bin.mean() * abs(confidence[in_bin].mean() - correct[in_bin].mean())
    return 100.0 * ece


def classification_metrics(
    y_true: Sequence[str] | np.ndarray,
    y_pred: Sequence[str] | np.ndarray,
    labels: Sequence[str],
    probs: np.ndarray | None = None,
) -> Metrics:
    """Metrics of string predictions against string truths over ``labels`` (the class order).

    ``probs`` (``[N, len(labels)]``, columns in ``labels`` order) adds the calibration error.
    """
    labels = tuple(labels)
    y_true, y_pred = list(y_true), list(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} truths but {len(y_pred)} predictions")
    if unknown := set(y_true) - set(labels):
        raise ValueError(f"true labels outside the label set: {sorted(unknown)[:5]}")
    if not y_true:
        raise ValueError("no examples to evaluate")
    per_class = recall_score(y_true, y_pred, labels=list(labels), average=None, zero_division=0)
    ece = None
    if probs is not None:
        index = {label: i for i, label in enumerate(labels)}
        ece = expected_calibration_error(probs, np.array([index[y] for y in y_true]))
    return Metrics(
        macro_recall=100.0 * float(np.mean(per_class)),
        macro_f1=100.0
        * float(f1_score(y_true, y_pred, labels=list(labels), average="macro", zero_division=0)),
        accuracy=100.0 * float(accuracy_score(y_true, y_pred)),
        labels=labels,
        confusion=confusion_matrix(y_true, y_pred, labels=list(labels)).tolist(),
        per_class_recall={label: 100.0 * float(r) for label, r in zip(labels, per_class, strict=True)},
        ece=ece,
        n=len(y_true),
    )


SentimentScorer = Callable[[Sequence[str]], tuple[np.ndarray, np.ndarray]]
"""texts -> (labels [N] str, probabilities [N, 3] in SENTIMENT order)."""


def compare_with_vader(
    data: LabelledTexts, scorer: SentimentScorer, labels: Sequence[str], *, name: str = "ours"
) -> dict[str, Metrics]:
    """Score ``data`` with ``scorer`` and with VADER; returns ``{name: Metrics, "vader": Metrics}``."""
    predicted, probs = scorer(data.texts)
    return {
        name: classification_metrics(data.labels, predicted, labels, probs),
        "vader": classification_metrics(data.labels, vader_labels(data.texts), labels),
    }


def format_comparison(results: dict[str, Metrics], *, title: str = "") -> str:
    """A side-by-side table: one row per metric, one column per system."""
    names = list(results)
    first = results[names[0]]

    def cells(m: Metrics) -> dict[str, str]:
        row = {"macro recall": f"{m.macro_recall:.1f}", "macro F1": f"{m.macro_f1:.1f}"}
        row |= {"accuracy": f"{m.accuracy:.1f}", "ECE": "-" if m.ece is None else f"{m.ece:.1f}"}
        return row | {f"recall {label}": f"{value:.1f}" for label, value in m.per_class_recall.items()}

    table = {n: cells(results[n]) for n in names}
    rows = list(table[names[0]])
    width = max(len(r) for r in rows) + 2
    lines = [title] if title else []
    lines.append(" " * width + "".join(f"{n:>12}" for n in names))
    for row in rows:
        lines.append(f"{row:<{width}}" + "".join(f"{table[n][row]:>12}" for n in names))
    for n in names:
        lines.append(
            f"confusion {n} (rows true, cols predicted {'/'.join(first.labels)}): {results[n].confusion}"
        )
    return "\n".join(lines)


def evaluate_file(path: str | Path, model_path: str | Path | None = None) -> str:
    """Evaluate the served model's sentiment head on a label/text TSV beside VADER; returns the table.

    This is what ``manage.py evaluate --data FILE`` prints.
    """
    from models.inference import load_model  # torch only when actually evaluating

    data = read_label_text_tsv(path)
    model = load_model(model_path)

    def scorer(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        out = model.predict(texts)
        return out.sentiment, out.sentiment_probs

    labels = model.label_maps["sentiment"]
    results = compare_with_vader(data, scorer, labels, name="ours")
    return format_comparison(results, title=f"{data.name}: {len(data)} texts, model version {model.version}")


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        description="Evaluate the sentiment head beside VADER on a label/text TSV."
    )
    parser.add_argument("--data", required=True, help="TSV with 'label' and 'text' columns")
    parser.add_argument(
        "--model", default=None, help="model version directory (default: LISTENING_MODEL_DIR)"
    )
    args = parser.parse_args(argv)
    print(evaluate_file(args.data, args.model))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
