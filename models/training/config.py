"""Hyper-parameters of one fine-tuning cycle, read from ``LISTENING_TRAIN_*`` variables or passed in.

Every field is recorded in the resulting version's manifest and registry row, so a version says
exactly how it was made.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Literal

Method = Literal["lora", "full"]


class TrainingConfigError(ValueError):
    """A training setting has a malformed value."""


@dataclass(frozen=True)
class TrainingConfig:
    """One cycle's settings. Loss weights multiply each example's loss (feedback weighs more)."""

    # Full fine-tuning by default: the default backbone is small (22M parameters), so updating all
    # of it is cheap, and on sentiment/val it beats LoRA at the same budget. "lora": peft adapters
    # merged at save time, for large backbones (set learning_rate ~3e-4 with it).
    method: Method = "full"
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_targets: tuple[str, ...] = ("query", "key", "value", "dense")
    learning_rate: float = 5e-5  # backbone; LoRA adapters want ~3e-4
    # Layer-wise learning-rate decay (ULMFiT/ELECTRA): layer i of L trains at
    # learning_rate * layer_decay ** (L - i), the embeddings at layer_decay ** (L + 1); 1.0 is off.
    layer_decay: float = 1.0
    # Keep the word-embedding matrix (half of MiniLM's weights) as shipped: it barely moves in
    # fine-tuning, and leaving it out is what lets a fine-tuned default ship as a small delta.
    freeze_word_embeddings: bool = False
    head_learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    batch_size: int = 32
    grad_accumulation: int = 1
    epochs: float = 1.0
    max_steps: int = 0  # optimizer steps; 0: from epochs over the supervised examples
    max_length: int = 64
    # Batches of similar-length texts (within runs of 50 batches), so less compute goes to padding.
    length_grouping: bool = True
    seed: int = 13
    checkpoint_every: int = 50  # optimizer steps between checkpoints
    # Unsupervised domain adaptation (SimCSE: dropout as augmentation, in-batch negatives).
    simcse_weight: float = 0.1
    simcse_batch_size: int = 32
    simcse_temperature: float = 0.05
    # Pairwise preferences (Bradley-Terry on the negativity score logit_neg - logit_pos).
    preference_weight: float = 1.0
    # Per-example loss weights by kind.
    weight_gold: float = 1.0
    weight_feedback: float = 3.0
    weight_pseudo: float = 0.5
    weight_replay: float = 1.0
    label_smoothing: float = 0.05
    # Weigh each class by the inverse of its share of the cycle's examples (per task), so the loss
    # matches the metric the product reports and gates on: macro recall, where the rare negative
    # class counts as much as the common neutral one.
    class_balance: bool = True
    max_grad_norm: float = 1.0
    # Weight-space ensembling (WiSE-FT, Wortsman et al., 2022): the saved weights are
    # ``parent + interpolate * (trained - parent)``. Below 1 it keeps most of a small cycle's gain on
    # new data while giving back less of what the parent knew (see docs/learning.md for figures).
    interpolate: float = 1.0
    # bf16 autocast on CUDA, and on CPUs with native bf16: AMX, where a MiniLM step measured 2.4x
    # faster than float32, and AVX512-BF16 (AMD Zen 4), 1.4x (0.33 against 0.47 s for 32 texts, 2
    # threads); other CPUs train in float32.
    mixed_precision: bool = True

    def __post_init__(self) -> None:
        if self.method not in ("lora", "full"):
            raise TrainingConfigError(f"method must be 'lora' or 'full', got {self.method!r}")
        for name in ("batch_size", "grad_accumulation", "max_length", "checkpoint_every", "lora_rank"):
            if getattr(self, name) < 1:
                raise TrainingConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_steps < 0 or self.epochs <= 0:
            raise TrainingConfigError("max_steps must be >= 0 and epochs > 0")
        if not 0 <= self.warmup_ratio < 1:
            raise TrainingConfigError("warmup_ratio must be in [0, 1)")
        if not 0 < self.interpolate <= 1:
            raise TrainingConfigError(f"interpolate must be in (0, 1], got {self.interpolate}")
        if not 0 < self.layer_decay <= 1:
            raise TrainingConfigError(f"layer_decay must be in (0, 1], got {self.layer_decay}")
        if self.learning_rate <= 0 or self.head_learning_rate <= 0:
            raise TrainingConfigError("learning rates must be positive")

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["lora_targets"] = list(self.lora_targets)
        return data

    def replace(self, **changes: Any) -> TrainingConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, **overrides: Any) -> TrainingConfig:
        """Defaults, then ``LISTENING_TRAIN_<FIELD>`` variables, then ``overrides``."""
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            raw = os.environ.get(f"LISTENING_TRAIN_{field.name.upper()}", "").strip()
            if not raw:
                continue
            default = field.default
            try:
                if isinstance(default, bool):
                    if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                        raise ValueError(raw)
                    values[field.name] = raw.lower() in ("1", "true", "yes")
                elif isinstance(default, int):
                    values[field.name] = int(raw)
                elif isinstance(default, float):
                    values[field.name] = float(raw)
                elif isinstance(default, tuple):
                    values[field.name] = tuple(part.strip() for part in raw.split(",") if part.strip())
                else:
                    values[field.name] = raw
            except ValueError:
                raise TrainingConfigError(
                    f"LISTENING_TRAIN_{field.name.upper()}: bad value {raw!r}"
                ) from None
        values.update(overrides)
        return cls(**values)


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["method=full", "max_steps=20"]`` → typed TrainingConfig overrides; raises TrainingConfigError."""
    defaults = TrainingConfig()
    overrides: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not hasattr(defaults, name):
            raise TrainingConfigError(f"expected FIELD=VALUE with a TrainingConfig field, got {item!r}")
        current = getattr(defaults, name)
        try:
            if isinstance(current, bool):
                overrides[name] = raw.lower() in ("1", "true", "yes")
            elif isinstance(current, int):
                overrides[name] = int(raw)
            elif isinstance(current, float):
                overrides[name] = float(raw)
            elif isinstance(current, tuple):
                overrides[name] = tuple(part for part in raw.split(",") if part)
            else:
                overrides[name] = raw
        except ValueError:
            raise TrainingConfigError(f"{name}: bad value {raw!r}") from None
    TrainingConfig(**overrides)  # validates the combination
    return overrides
