"""A reply-model training run: SFT on real agents' replies, then DPO on preferences. No Django.

The loop around ``models.generation.tuning``'s losses, with the sentiment trainer's habits
(``models.training.trainer``): batches planned up front from the seed, so a run resumed after a
kill sees the very batches it would have seen; the trainable state (adapter or all weights),
the optimizer and the RNG checkpointed atomically every ``checkpoint_every`` steps, and resumed
only by the same run (a fingerprint of the config, the backbone and the data); the result saved
with a manifest (``models.artifacts``) before the checkpoint is removed.

Steps ``1..sft_steps`` are SFT; the ``dpo_steps`` after them DPO against the frozen backbone (the
adapters switched off under LoRA; a frozen copy for a full fine-tune).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from models.artifacts import write_manifest
from models.generation.decoder import Decoder
from models.generation.tuning import PreferenceExample, SftExample, TuneConfig, dpo_loss, sft_loss, trainable
from models.training.trainer import _plan as plan_batches
from models.training.trainer import save_atomically

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.pt"
TASK = "replies"


class ReplyTrainingError(ValueError):
    pass


@dataclass(frozen=True)
class ReplyTrainConfig:
    """``sft_steps``/``dpo_steps`` 0: one epoch over the pairs / the preferences."""

    tune: TuneConfig = field(default_factory=TuneConfig)
    batch_size: int = 4
    sft_steps: int = 0
    dpo_steps: int = 0
    checkpoint_every: int = 10

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.checkpoint_every < 1 or self.sft_steps < 0 or self.dpo_steps < 0:
            raise ValueError("batch_size >= 1, checkpoint_every >= 1 and steps >= 0 are required")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def steps(self, pairs: int, preferences: int) -> tuple[int, int]:
        sft = self.sft_steps or math.ceil(pairs / self.batch_size)
        dpo = (self.dpo_steps or math.ceil(preferences / self.batch_size)) if preferences else 0
        return (sft if pairs else 0), dpo


def _fingerprint(
    config: ReplyTrainConfig, backbone: str, sft: Sequence[SftExample], prefs: Sequence[PreferenceExample]
) -> str:
    """A run's identity: a checkpoint is only resumed by the same config, backbone and data."""
    digest = hashlib.sha256()
    digest.update(json.dumps(config.as_dict(), sort_keys=True).encode())
    digest.update(backbone.encode())
    for e in sft:
        digest.update(json.dumps([e.messages, e.reply]).encode())
    for p in prefs:
        digest.update(json.dumps([p.messages, p.chosen, p.rejected]).encode())
    return digest.hexdigest()


class _AdaptersOff(nn.Module):
    """The frozen reference under LoRA: the same model with its adapters switched off."""

    def __init__(self, peft_model: Any) -> None:
        super().__init__()
        object.__setattr__(self, "peft_model", peft_model)  # not a submodule: its weights are the policy's

    def forward(self, **inputs: Any) -> Any:
        peft_model: Any = self.__dict__["peft_model"]
        with peft_model.disable_adapter():
            return peft_model(**inputs)


def _trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def _save_checkpoint(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    step: int,
    losses: list[float],
    fingerprint: str,
) -> None:
    state = {
        "fingerprint": fingerprint,
        "step": step,
        "losses": losses,
        "params": _trainable_state(model),
        "optimizer": optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(),
    }
    save_atomically(state, path)


def _resume(
    path: Path, fingerprint: str, model: nn.Module, optimizer: torch.optim.Optimizer
) -> tuple[int, list[float]]:
    if not path.is_file():
        return 0, []
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state.get("fingerprint") != fingerprint:
        logger.warning("ignoring checkpoint %s: another run's (backbone, data or config differ)", path)
        return 0, []
    result = model.load_state_dict(state["params"], strict=False)
    if result.unexpected_keys:
        raise ReplyTrainingError(f"checkpoint has unknown parameters {result.unexpected_keys[:3]}")
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    logger.info("resuming reply training from step %d", state["step"])
    return int(state["step"]), list(state["losses"])


@contextmanager
def _private(decoder: Decoder) -> Iterator[Decoder]:
    """A copy of ``decoder`` to train: the process-wide cached one keeps serving untouched."""
    mine = copy.copy(decoder)
    mine.model = copy.deepcopy(decoder.model)
    try:
        yield mine
    finally:
        del mine.model


def train_replies(
    decoder: Decoder,
    sft: Sequence[SftExample],
    preferences: Sequence[PreferenceExample],
    out_dir: Path,
    *,
    version: str,
    config: ReplyTrainConfig,
    checkpoint_dir: Path,
    progress: bool = False,
    on_step: Callable[[int, int, dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """Train a copy of ``decoder`` and save it under ``out_dir`` (an adapter, or a whole checkpoint
    with ``config.tune.lora`` off) with a manifest; returns the manifest.

    Resumes from ``checkpoint_dir`` when it holds this run's checkpoint. ``on_step(step, total,
    {"loss", "phase"})`` after every optimizer step.
    """
    if not sft and not preferences:
        raise ReplyTrainingError("nothing to train on: no pairs and no preferences")
    sft_steps, dpo_steps = config.steps(len(sft), len(preferences))
    total = sft_steps + dpo_steps
    fingerprint = _fingerprint(config, decoder.reference, sft, preferences)
    rng = np.random.default_rng(config.tune.seed)
    sft_plan = plan_batches(len(sft), config.batch_size, sft_steps, rng)
    dpo_plan = plan_batches(len(preferences), config.batch_size, dpo_steps, rng)
    checkpoint = checkpoint_dir / CHECKPOINT_FILE
    with _private(decoder) as mine:
        model = trainable(mine, config.tune)
        frozen: nn.Module | None = None
        if dpo_steps:
            frozen = _AdaptersOff(model) if config.tune.lora else copy.deepcopy(decoder.model).eval()
        optimizer = torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad], lr=config.tune.learning_rate
        )
        step, losses = _resume(checkpoint, fingerprint, model, optimizer)
        bar = tqdm(total=total, initial=step, disable=not progress, desc=f"train {version}", unit="step")
        model.train()
        while step < total:
            optimizer.zero_grad()
            if step < sft_steps:
                phase = "sft"
                loss = sft_loss(model, mine, [sft[int(i)] for i in sft_plan[step]])
            else:
                phase = "dpo"
                assert frozen is not None
                batch = [preferences[int(i)] for i in dpo_plan[step - sft_steps]]
                loss = dpo_loss(model, frozen, mine, batch, beta=config.tune.beta)
            loss.backward()
            optimizer.step()
            step += 1
            losses.append(float(loss.detach()))
            bar.update(1)
            bar.set_postfix(phase=phase, loss=f"{losses[-1]:.3f}")
            if step % config.checkpoint_every == 0 and step < total:
                _save_checkpoint(checkpoint, model, optimizer, step, losses, fingerprint)
            if on_step is not None:
                on_step(step, total, {"loss": losses[-1], "phase": 0.0 if phase == "sft" else 1.0})
        bar.close()
        model.eval()
        staging = out_dir.with_name(out_dir.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        model.save_pretrained(staging)  # type: ignore[operator]  # LoRA: the adapter alone
        if not config.tune.lora:
            mine.tokenizer.save_pretrained(staging)  # a whole checkpoint, loadable as a backbone
    manifest = write_manifest(
        staging,
        {
            "version": version,
            "task": TASK,
            "backbone": {"reference": decoder.reference},
            "heads": {},
            "max_length": 0,
            "lora": config.tune.lora,
            "config": config.as_dict(),
            "steps": {"sft": sft_steps, "dpo": dpo_steps},
            "losses": {
                "sft_first": losses[0] if sft_steps else None,
                "sft_last": losses[sft_steps - 1] if sft_steps else None,
                "dpo_last": losses[-1] if dpo_steps else None,
            },
            "data": {"pairs": len(sft), "preferences": len(preferences)},
        },
    )
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(staging, out_dir)  # the version appears whole or not at all
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return manifest
