"""The on-disk format of a model version directory (no torch: the registry may read it anywhere).

A model version directory holds::

    manifest.json          what this version is (see below), with a checksum of every file
    heads.safetensors      head weights and temperatures
    backbone/              only when the backbone was fine-tuned: a Hugging Face checkpoint
                           (save_pretrained), used instead of the backbone reference's weights
    backbone-delta.safetensors
                           or, instead of backbone/ ("weights": "delta"): float16 differences from
                           the reference's weights for the tensors fine-tuning changed

``manifest.json``::

    {"format": "listening-model-version/1", "version": str, "created_at": ISO-8601,
     "backbone": {"reference": str, "pooling": "mean"|"last", "hidden_size": int,
                  "weights": "reference"|"included"|"delta"},
     "max_length": int, "heads": {task: [labels in output order]},
     "metrics": {...}, "training": {...},           # free-form, JSON
     "serving": {"intent_min_confidence": float, "irony_threshold": float},  # optional: models.serving
     "files": {relative path: sha256}, "checksum": sha256 over the sorted "files" entries}
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

FORMAT = "listening-model-version/1"
MANIFEST = "manifest.json"
HEADS_FILE = "heads.safetensors"
BACKBONE_DIR = "backbone"
BACKBONE_DELTA_FILE = "backbone-delta.safetensors"


class ArtifactError(ValueError):
    """A model version directory is missing, malformed or does not match its checksums."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_checksum(files: dict[str, str]) -> str:
    """One sha256 over ``path:sha256`` lines in path order: the identity of a directory's content."""
    lines = "".join(f"{path}:{digest}\n" for path, digest in sorted(files.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def hash_files(directory: Path) -> dict[str, str]:
    """sha256 of every file under ``directory`` except the manifest, keyed by relative POSIX path."""
    return {
        path.relative_to(directory).as_posix(): file_sha256(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def write_manifest(directory: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Hash the directory's files, add ``files``/``checksum``/``format`` and write manifest.json."""
    manifest = dict(manifest)
    manifest["format"] = FORMAT
    manifest["files"] = hash_files(directory)
    manifest["checksum"] = files_checksum(manifest["files"])
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def read_manifest(directory: str | Path, *, verify: bool = True) -> dict[str, Any]:
    """Read a version's manifest; with ``verify`` re-hash its files and raise ArtifactError on mismatch."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"not a model version directory (no {MANIFEST}): {directory}")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"unreadable manifest {path}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{path} is not a {FORMAT} manifest")
    for key in ("version", "backbone", "heads", "files", "checksum", "max_length"):
        if key not in manifest:
            raise ArtifactError(f"{path} lacks {key!r}")
    if verify:
        files = manifest["files"]
        if files_checksum(files) != manifest["checksum"]:
            raise ArtifactError(f"{path}: checksum does not match its file list")
        actual = hash_files(directory)
        if actual != files:
            changed = sorted(set(actual.items()) ^ set(files.items()))
            raise ArtifactError(f"{directory}: files differ from the manifest: {[p for p, _ in changed][:5]}")
    return manifest
