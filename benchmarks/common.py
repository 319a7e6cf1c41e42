"""What several benchmarks share: the TF-IDF + LR reference system, the machine line printed beside
every timing, and the ``label  value`` line.

Kept free of Django and of torch at import time, so any benchmark can use it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from models.datasets import LabelledTexts
from models.evaluation import classification_metrics
from models.labels import SENTIMENT

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# Regularisation grid of the TF-IDF reference; the point is chosen on sentiment/val macro recall.
TFIDF_C_GRID = (0.5, 1.0, 2.0, 4.0)


@dataclass(frozen=True)
class TfidfBaseline:
    """Word 1-2-gram TF-IDF + class-balanced logistic regression, fitted with the chosen ``c``."""

    pipeline: Pipeline
    c: float
    val_macro_recall: float  # on the validation data ``c`` was chosen on (optimistic by that much)
    train_rows: int

    def score(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(labels [N], probabilities [N, 3] in ``SENTIMENT`` order)."""
        probs = self.pipeline.predict_proba(list(texts))
        columns = [list(self.pipeline.classes_).index(label) for label in SENTIMENT]
        probs = probs[:, columns]
        return np.asarray(SENTIMENT)[probs.argmax(axis=1)], probs


def fit_tfidf_lr(
    train: LabelledTexts,
    val: LabelledTexts,
    *,
    grid: Sequence[float] = TFIDF_C_GRID,
    progress: bool = False,
) -> TfidfBaseline:
    """Fit the vectoriser once on ``train``, one logistic regression per ``C`` in ``grid``, and keep
    the one with the best macro recall on ``val`` (the only data used for the choice)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from tqdm.auto import tqdm

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    train_x = vectorizer.fit_transform(train.texts)
    val_x = vectorizer.transform(val.texts)
    best: tuple[float, float, LogisticRegression] | None = None
    for c in tqdm(grid, desc="TF-IDF + LR, C on val", unit="fit", disable=None if progress else True):
        classifier = LogisticRegression(max_iter=2000, class_weight="balanced", C=c)
        classifier.fit(train_x, train.labels)
        recall = classification_metrics(val.labels, classifier.predict(val_x), SENTIMENT).macro_recall
        if best is None or recall > best[0]:
            best = (recall, c, classifier)
    if best is None:
        raise ValueError("the C grid is empty")
    recall, c, classifier = best
    return TfidfBaseline(make_pipeline(vectorizer, classifier), c, recall, len(train))


def cpu_features() -> str:
    """The CPU model, torch's kernel capability and the vector/matrix extensions that decide the
    speed of a transformer on CPU (AVX-512, AMX), e.g. ``Intel Xeon, 2 cores, torch AVX512, amx_bf16 ...``."""
    import torch

    name, flags = "unknown CPU", set[str]()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for row in cpuinfo.read_text().splitlines():
            key, _, value = row.partition(":")
            if key.strip() == "model name" and name == "unknown CPU":
                name = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = {f for f in value.split() if f.startswith(("avx512", "amx"))}
    shown = " ".join(sorted(flags)) or "no AVX-512/AMX"
    return f"{name}, {os.cpu_count()} cores, torch {torch.backends.cpu.get_cpu_capability()}, {shown}"


def machine_line(device: str = "cpu", dtype: str | None = None) -> str:
    """One line for beside a timing: CPU features, torch threads, device and the dtype used."""
    import torch

    parts = [f"cpu: {cpu_features()}", f"torch {torch.__version__}, {torch.get_num_threads()} threads"]
    if device.startswith("cuda") and torch.cuda.is_available():
        parts.append(f"device {torch.cuda.get_device_name(torch.device(device))}")
    else:
        parts.append(f"device {device}")
    if dtype:
        parts.append(f"dtype {dtype}")
    return "; ".join(parts)


def line(label: str, value: str) -> None:
    print(f"{label:<58} {value}", flush=True)
