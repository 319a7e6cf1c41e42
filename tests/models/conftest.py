"""Shared fixtures: one loaded default model per test session (loading costs seconds, CI has 2 cores)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("LISTENING_TORCH_THREADS", "2")

from models.datasets import DatasetMissing, sentiment
from models.inference import ListeningModel, load_model
from models.settings import DEFAULT_MODEL_DIR, data_dir


@pytest.fixture(scope="session")
def default_model() -> ListeningModel:
    """The shipped default version (models/default) on CPU, as a worker would load it."""
    return load_model(DEFAULT_MODEL_DIR, device="cpu")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The labelled data folder; tests needing it skip with the reason when it is absent."""
    try:
        sentiment("val")
    except DatasetMissing as exc:
        pytest.skip(f"labelled data not available: {exc}")
    return data_dir()
