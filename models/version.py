"""Symmetric save/load of a model version directory (format in :mod:`models.artifacts`)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from models.artifacts import (
    BACKBONE_DELTA_FILE,
    BACKBONE_DIR,
    HEADS_FILE,
    ArtifactError,
    read_manifest,
    write_manifest,
)
from models.backbones import load_backbone
from models.heads import ListeningHeads, ListeningNetwork
from models.settings import ModelSettings


def save_model_version(
    network: ListeningNetwork,
    directory: str | Path,
    *,
    version: str,
    max_length: int,
    include_backbone: bool = False,
    backbone_delta: bool = False,
    metrics: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``network`` as a model version into ``directory`` (created; must not exist or be empty).

    ``include_backbone`` stores the backbone weights (needed once the backbone is fine-tuned);
    otherwise only the backbone reference is recorded and the heads are a few hundred KB.
    ``backbone_delta`` (with ``include_backbone``) stores only what fine-tuning changed, as a float16
    difference from the reference's own weights, instead of a whole checkpoint: a fine-tuned
    MiniLM with frozen word embeddings is ~21 MB instead of 90 MB, small enough to commit.
    ``extra`` adds top-level manifest keys (e.g. ``serving``). Returns the manifest.
    """
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise ArtifactError(f"refusing to overwrite non-empty directory {directory}")
    directory.mkdir(parents=True, exist_ok=True)
    if backbone_delta and not include_backbone:
        raise ArtifactError("backbone_delta needs include_backbone")
    heads = network.heads
    state = {
        name: tensor.detach().to("cpu", torch.float32).contiguous()
        for name, tensor in heads.state_dict().items()
    }
    save_file(state, str(directory / HEADS_FILE))
    backbone = network.backbone
    weights = "reference"
    if include_backbone and backbone_delta:
        delta = backbone_weight_delta(network)
        save_file(delta, str(directory / BACKBONE_DELTA_FILE))
        weights = "delta"
    elif include_backbone:
        backbone.model.save_pretrained(directory / BACKBONE_DIR)
        backbone.tokenizer.save_pretrained(directory / BACKBONE_DIR)
        weights = "included"
    manifest = {
        "version": version,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "backbone": {
            "reference": backbone.reference,
            "pooling": backbone.pooling,
            "hidden_size": backbone.hidden_size,
            "weights": weights,
        },
        "max_length": int(max_length),
        "heads": {task: list(labels) for task, labels in heads.label_maps.items()},
        "metrics": metrics or {},
        "training": training or {},
        **(extra or {}),
    }
    return write_manifest(directory, manifest)


# Differences this small are float noise of a weight that did not train (fp16 cannot hold them anyway).
DELTA_EPSILON = 1e-8


@torch.no_grad()
def backbone_weight_delta(network: ListeningNetwork) -> dict[str, torch.Tensor]:
    """``tuned - reference`` in float16 for every backbone tensor that changed (names as in the
    backbone model's state dict). The reference checkpoint is loaded again to diff against."""
    backbone = network.backbone
    reference = load_backbone(
        backbone.reference, cache_dir=ModelSettings.from_env().cache_dir, pooling=backbone.pooling
    )
    base = reference.model.state_dict()
    delta: dict[str, torch.Tensor] = {}
    for name, tensor in backbone.model.state_dict().items():
        if name not in base or base[name].shape != tensor.shape:
            raise ArtifactError(f"backbone tensor {name!r} does not match the reference {backbone.reference}")
        if not tensor.is_floating_point():
            continue
        diff = tensor.detach().float().cpu() - base[name].float()
        if diff.abs().max() > DELTA_EPSILON:
            delta[name] = diff.half().contiguous()
    return delta


@torch.no_grad()
def _apply_delta(network: ListeningNetwork, path: Path) -> None:
    state = network.backbone.model.state_dict()
    delta = load_file(str(path))
    unknown = sorted(set(delta) - set(state))
    if unknown:
        raise ArtifactError(f"{path.name} names tensors the backbone lacks: {unknown[:3]}")
    for name, diff in delta.items():
        if state[name].shape != diff.shape:
            raise ArtifactError(
                f"{path.name}: {name} has shape {tuple(diff.shape)}, expected {tuple(state[name].shape)}"
            )
        state[name].add_(diff.to(state[name].dtype))


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
    if info.get("weights") == "delta":
        _apply_delta(network, directory / BACKBONE_DELTA_FILE)
    return network, manifest


def copy_model_version(source: str | Path, target: str | Path) -> None:
    """Copy a version directory after verifying it (e.g. into the registry's artefact store)."""
    read_manifest(source, verify=True)
    shutil.copytree(source, target)
