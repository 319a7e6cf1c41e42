"""Symmetric save/load of a model version directory (format in :mod:`models.artifacts`)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from models.artifacts import BACKBONE_DIR, HEADS_FILE, ArtifactError, read_manifest, write_manifest
from models.backbones import load_backbone
from models.heads import ListeningHeads, ListeningNetwork


def save_model_version(
    network: ListeningNetwork,
    directory: str | Path,
    *,
    version: str,
    max_length: int,
    include_backbone: bool = False,
    metrics: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``network`` as a model version into ``directory`` (created; must not exist or be empty).

    ``include_backbone`` stores the backbone weights (needed once the backbone is fine-tuned);
    otherwise only the backbone reference is recorded and the heads are a few hundred KB.
    Returns the manifest written.
    """
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise ArtifactError(f"refusing to overwrite non-empty directory {directory}")
    directory.mkdir(parents=True, exist_ok=True)
    heads = network.heads
    state = {
        name: tensor.detach().to("cpu", torch.float32).contiguous()
        for name, tensor in heads.state_dict().items()
    }
    save_file(state, str(directory / HEADS_FILE))
    backbone = network.backbone
    if include_backbone:
        backbone.model.save_pretrained(directory / BACKBONE_DIR)
        backbone.tokenizer.save_pretrained(directory / BACKBONE_DIR)
    manifest = {
        "version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "backbone": {
            "reference": backbone.reference,
            "pooling": backbone.pooling,
            "hidden_size": backbone.hidden_size,
            "weights": "included" if include_backbone else "reference",
        },
        "max_length": int(max_length),
        "heads": {task: list(labels) for task, labels in heads.label_maps.items()},
        "metrics": metrics or {},
        "training": training or {},
    }
    return write_manifest(directory, manifest)


def load_model_version(
    directory: str | Path, *, cache_dir: Path, verify: bool = True
) -> tuple[ListeningNetwork, dict[str, Any]]:
    """Load a version saved by :func:`save_model_version` on CPU in float32; returns (network, manifest)."""
    directory = Path(directory)
    manifest = read_manifest(directory, verify=verify)
    info = manifest["backbone"]
    weights_dir = directory / BACKBONE_DIR if info.get("weights") == "included" else None
    backbone = load_backbone(
        info["reference"], cache_dir=cache_dir, pooling=info["pooling"], weights_dir=weights_dir
    )
    if backbone.hidden_size != info["hidden_size"]:
        raise ArtifactError(
            f"backbone {info['reference']!r} has hidden size {backbone.hidden_size}, "
            f"the version expects {info['hidden_size']}"
        )
    heads = ListeningHeads(backbone.hidden_size, manifest["heads"])
    heads.load_state_dict(load_file(str(directory / HEADS_FILE)), strict=True)
    network = ListeningNetwork(backbone, heads).eval()
    return network, manifest


def copy_model_version(source: str | Path, target: str | Path) -> None:
    """Copy a version directory after verifying it (e.g. into the registry's artefact store)."""
    read_manifest(source, verify=True)
    shutil.copytree(source, target)
