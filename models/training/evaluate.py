"""Scoring a version directory on labelled slices (the gate's input)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from models.datasets import LabelledTexts
from models.evaluation import classification_metrics
from models.inference import ListeningModel, configure_threads, resolve_device
from models.settings import ModelSettings
from models.version import load_model_version


def open_version(path: str | Path, *, device: str | None = None) -> ListeningModel:
    """A fresh (uncached) model for ``path`` in float32: evaluation must not pin versions in the
    inference cache of a long-lived training worker."""
    settings = ModelSettings.from_env()
    configure_threads(settings.torch_threads)
    network, manifest = load_model_version(path, cache_dir=settings.cache_dir)
    resolved = resolve_device(device)
    dtype = torch.bfloat16 if resolved.type == "cuda" else torch.float32
    return ListeningModel(
        network, manifest, device=resolved, dtype=dtype, max_length=int(manifest["max_length"])
    )


def evaluate_model(model: ListeningModel, slices: Mapping[str, LabelledTexts]) -> dict[str, dict[str, Any]]:
    """Sentiment metrics (``Metrics.as_dict()``) of ``model`` on each named slice; empty slices skipped."""
    labels = model.label_maps["sentiment"]
    results: dict[str, dict[str, Any]] = {}
    for name, data in slices.items():
        if not len(data):
            continue
        predictions = model.predict(data.texts, batch_size=128)
        metrics = classification_metrics(
            data.labels, predictions.sentiment, labels, predictions.sentiment_probs
        )
        results[name] = metrics.as_dict()
    return results


def evaluate_version(
    path: str | Path, slices: Mapping[str, LabelledTexts], *, device: str | None = None
) -> dict[str, dict[str, Any]]:
    return evaluate_model(open_version(path, device=device), slices)
