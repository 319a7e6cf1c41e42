from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("LISTENING_TORCH_THREADS", "2")

from models import datasets
from models.settings import DEFAULT_MODEL_DIR
from models.version import copy_model_version
from tests.models.conftest import shared_data  # noqa: F401  (the data folder, or a skip)


@pytest.fixture
def version_dirs(tmp_path: Path) -> list[Path]:
    """Two stored copies of the shipped version: different artefact paths, so each is its own model
    in the worker's cache, as two trained versions would be."""
    dirs = []
    for name in ("first", "second"):
        copy_model_version(DEFAULT_MODEL_DIR, tmp_path / name)
        dirs.append(tmp_path / name)
    return dirs


@pytest.fixture
def no_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``LISTENING_DATA_DIR`` pointing at an empty directory, as on a user's machine."""
    empty = tmp_path / "no-data-folder"
    empty.mkdir()
    monkeypatch.setenv("LISTENING_DATA_DIR", str(empty))
    with pytest.raises(datasets.DatasetMissing):
        datasets.sentiment("val")
    return empty


@pytest.fixture
def negative_version_dir(tmp_path: Path) -> Path:
    """A real version that reads everything as negative: the shipped one with its sentiment head's
    negative bias raised far above the others (checksums rewritten, so it loads like any version)."""
    from safetensors.numpy import load_file, save_file

    from models.artifacts import HEADS_FILE, read_manifest, write_manifest

    target = tmp_path / "negative"
    copy_model_version(DEFAULT_MODEL_DIR, target)
    manifest = read_manifest(target)
    heads = load_file(str(target / HEADS_FILE))
    bias = heads["classifiers.sentiment.bias"].copy()
    bias[manifest["heads"]["sentiment"].index("negative")] += 100.0
    heads["classifiers.sentiment.bias"] = bias
    save_file(heads, str(target / HEADS_FILE))
    write_manifest(target, {k: v for k, v in manifest.items() if k not in {"files", "checksum"}})
    return target
