"""Task heads on the pooled hidden state, and the trainable network (backbone + heads).

Each head is one linear layer over the pooled state with a temperature (a buffer, fitted on
validation data, not by gradient steps) that calibrates its softmax. The embedding is the pooled
state L2-normalised. ``ListeningNetwork`` is a plain ``nn.Module`` so the training service can
fine-tune backbone and heads together with any optimiser; its ``forward`` returns raw logits (for a
cross-entropy loss) and :meth:`ListeningHeads.probabilities` applies the calibration.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from models.backbones import Backbone


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch (all devices) so head initialisation and training repeat."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class ListeningHeads(nn.Module):
    """One calibrated linear classifier per task over a ``hidden_size`` pooled state.

    ``label_maps`` maps task name → labels in output-unit order; it is saved with the weights.
    """

    def __init__(self, hidden_size: int, label_maps: Mapping[str, Sequence[str]]) -> None:
        super().__init__()
        if hidden_size <= 0:
            raise ValueError("hidden_size must be positive")
        if not label_maps:
            raise ValueError("at least one head is needed")
        self.hidden_size = hidden_size
        self.label_maps: dict[str, tuple[str, ...]] = {}
        self.classifiers = nn.ModuleDict()
        for task, labels in label_maps.items():
            labels = tuple(labels)
            if len(labels) < 2 or len(set(labels)) != len(labels):
                raise ValueError(f"head {task!r} needs at least two distinct labels, got {labels!r}")
            self.label_maps[task] = labels
            self.classifiers[task] = nn.Linear(hidden_size, len(labels))
            self.register_buffer(f"temperature_{task}", torch.ones(()))

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.label_maps)

    def temperature(self, task: str) -> torch.Tensor:
        return self.get_buffer(f"temperature_{task}")

    def set_temperature(self, task: str, value: float) -> None:
        if not value > 0:
            raise ValueError(f"temperature must be positive, got {value}")
        self.temperature(task).fill_(float(value))

    def classifier(self, task: str) -> nn.Linear:
        layer = self.classifiers[task]
        assert isinstance(layer, nn.Linear)
        return layer

    def forward(self, pooled: torch.Tensor) -> dict[str, torch.Tensor]:
        """Raw (uncalibrated) logits per task, ``[batch, n_labels]``; heads compute in float32."""
        pooled = pooled.float()
        return {task: layer(pooled) for task, layer in self.classifiers.items()}

    def probabilities(self, logits: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Temperature-scaled softmax of each task's logits."""
        return {task: F.softmax(value / self.temperature(task), dim=-1) for task, value in logits.items()}


@dataclass
class NetworkOutput:
    pooled: torch.Tensor  # [batch, hidden] float32
    logits: dict[str, torch.Tensor]  # task -> [batch, n_labels], uncalibrated

    @property
    def embedding(self) -> torch.Tensor:
        return F.normalize(self.pooled, p=2, dim=-1)


class ListeningNetwork(nn.Module):
    """Backbone + heads: token ids in, pooled state and per-task logits out."""

    def __init__(self, backbone: Backbone, heads: ListeningHeads) -> None:
        super().__init__()
        if heads.hidden_size != backbone.hidden_size:
            raise ValueError(
                f"heads expect hidden size {heads.hidden_size}, backbone has {backbone.hidden_size}"
            )
        self.backbone = backbone
        self.heads = heads

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> NetworkOutput:
        pooled = self.backbone(input_ids, attention_mask)
        return NetworkOutput(pooled=pooled, logits=self.heads(pooled))
