from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("LISTENING_TORCH_THREADS", "2")

from models.settings import DEFAULT_MODEL_DIR
from models.version import copy_model_version


@pytest.fixture
def version_dirs(tmp_path: Path) -> list[Path]:
    """Two stored copies of the shipped version: different artefact paths, so each is its own model
    in the worker's cache, as two trained versions would be."""
    dirs = []
    for name in ("first", "second"):
        copy_model_version(DEFAULT_MODEL_DIR, tmp_path / name)
        dirs.append(tmp_path / name)
    return dirs
