"""One fine-tuning cycle: a parent version directory and training data in, a new version directory out.

The loop is plain PyTorch over :class:`models.heads.ListeningNetwork` (backbone + heads), because
it mixes four losses that no single trainer class covers:

- weighted cross-entropy on labelled examples (gold, analysts' feedback, pseudo-labels, replay),
  each kind with its own weight (feedback weighs more);
- SimCSE on raw new text (Gao et al., 2021): the same batch encoded twice with dropout on, each text's
  other view is its positive and the rest of the batch its negatives; adapts the encoder to new
  language without labels;
- Bradley-Terry on pairwise preferences: the "more negative" text must score higher on
  ``log p(negative) - log p(positive)``;
- nothing else: intent corrections use the same cross-entropy on the intent head.

AdamW with linear warm-up and decay, gradient accumulation, gradient clipping, bf16 autocast on
CUDA, LoRA adapters (peft, merged into the weights at save time so inference is unchanged) or full
fine-tuning. The micro-batch plan is drawn from the seed up front, so a run killed at any point
resumes from its last checkpoint onto the very batches it would have seen.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from models.datasets import LabelledTexts
from models.head_training import fit_temperature
from models.heads import ListeningNetwork, set_seed
from models.inference import configure_threads, cpu_has_native_bf16, resolve_device
from models.settings import ModelSettings
from models.training.config import TrainingConfig
from models.training.data import Example, TrainingData
from models.version import load_model_version, save_model_version

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.pt"

StepCallback = Callable[[int, int, dict[str, float]], None]


class TrainingError(ValueError):
    """The cycle cannot run on this input (no usable data, labels outside the heads' maps...)."""


@dataclass
class CycleResult:
    directory: Path
    manifest: dict[str, Any]
    steps: int
    resumed_from: int  # optimizer step the run resumed at (0: fresh start)
    losses: list[dict[str, float]] = field(default_factory=list)  # per optimizer step
    seconds: float = 0.0

    @property
    def first_loss(self) -> float:
        return self.losses[0]["loss"] if self.losses else float("nan")

    @property
    def last_loss(self) -> float:
        return self.losses[-1]["loss"] if self.losses else float("nan")


def _fingerprint(config: TrainingConfig, parent_checksum: str, data: TrainingData) -> str:
    """Identity of a run: a checkpoint is only resumed by the same config, parent and data."""
    digest = hashlib.sha256()
    digest.update(json.dumps(config.as_dict(), sort_keys=True).encode())
    digest.update(parent_checksum.encode())
    for e in data.examples:
        digest.update(f"{e.kind}\x1f{e.task}\x1f{e.label}\x1f{e.text}\x1e".encode())
    for p in data.preferences:
        digest.update(f"P{p.preferred}\x1f{p.other}\x1e".encode())
    for text in data.raw_texts:
        digest.update(f"R{text}\x1e".encode())
    return digest.hexdigest()


def _plan(n: int, batch: int, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``count`` batches of indices into ``n`` items, epoch after epoch of fresh permutations."""
    if n == 0:
        return [np.zeros(0, dtype=np.int64)] * count
    needed = batch * count
    order = np.concatenate([rng.permutation(n) for _ in range(math.ceil(needed / n))])
    return [order[i * batch : (i + 1) * batch] for i in range(count)]


GROUP_BATCHES = 50  # batches sorted by length together: similar lengths, order still random


def group_by_length(
    plan: list[np.ndarray], lengths: np.ndarray, rng: np.random.Generator
) -> list[np.ndarray]:
    """Re-cut each run of ``GROUP_BATCHES`` batches so each batch holds texts of similar token
    length (each pads only to its own longest), then shuffle the batches of the run. Every example
    keeps its place in the run, so epochs and the resume plan are unchanged; only padding is saved."""
    grouped: list[np.ndarray] = []
    for start in range(0, len(plan), GROUP_BATCHES):
        run = plan[start : start + GROUP_BATCHES]
        sizes = [len(batch) for batch in run]
        flat = np.concatenate(run) if run else np.zeros(0, dtype=np.int64)
        flat = flat[np.argsort(lengths[flat], kind="stable")]
        cuts = np.split(flat, np.cumsum(sizes)[:-1])
        grouped.extend(cuts[i] for i in rng.permutation(len(cuts)))
    return grouped


class _Cycle:
    def __init__(
        self, network: ListeningNetwork, data: TrainingData, config: TrainingConfig, device: torch.device
    ) -> None:
        self.network = network
        self.data = data
        self.config = config
        self.device = device
        self.tokenizer = network.backbone.tokenizer
        maps = network.heads.label_maps
        self.targets: list[tuple[str, int]] = []
        for example in data.examples:
            if example.task not in maps:
                raise TrainingError(f"no {example.task!r} head in the parent version")
            if example.label not in maps[example.task]:
                raise TrainingError(f"label {example.label!r} is not in the {example.task!r} head")
            self.targets.append((example.task, maps[example.task].index(example.label)))
        self.weights = {
            "gold": config.weight_gold,
            "feedback": config.weight_feedback,
            "pseudo": config.weight_pseudo,
            "replay": config.weight_replay,
        }
        self.autocast = config.mixed_precision and (
            device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16())
        )
        self.class_weights = {
            task: torch.tensor(weights, device=device)
            for task, weights in class_weights(self.targets, maps, config.class_balance).items()
        }

    def encode(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        batch = self.tokenizer(
            list(texts), truncation=True, max_length=self.config.max_length, padding=True, return_tensors="pt"
        )
        return batch["input_ids"].to(self.device), batch["attention_mask"].to(self.device)

    def supervised_loss(self, idx: np.ndarray) -> torch.Tensor | None:
        if len(idx) == 0:
            return None
        examples = [self.data.examples[i] for i in idx]
        out = self.network(*self.encode([e.text for e in examples]))
        total = torch.zeros((), device=self.device)
        for task in {e.task for e in examples}:
            rows = [r for r, e in enumerate(examples) if e.task == task]
            target = torch.tensor([self.targets[idx[r]][1] for r in rows], device=self.device)
            weight = torch.tensor([self.weights[examples[r].kind] for r in rows], device=self.device)
            weight = weight * self.class_weights[task][target]
            loss = F.cross_entropy(
                out.logits[task][rows].float(),
                target,
                reduction="none",
                label_smoothing=self.config.label_smoothing,
            )
            total = total + (loss * weight).sum() / len(examples)
        return total

    def simcse_loss(self, idx: np.ndarray) -> torch.Tensor | None:
        if len(idx) < 2:
            return None
        ids, mask = self.encode([self.data.raw_texts[i] for i in idx])
        # Two passes in train mode: dropout makes two views of each text.
        first = F.normalize(self.network.backbone(ids, mask).float(), dim=-1)
        second = F.normalize(self.network.backbone(ids, mask).float(), dim=-1)
        similarity = first @ second.T / self.config.simcse_temperature
        return F.cross_entropy(similarity, torch.arange(len(idx), device=self.device))

    def preference_loss(self, idx: np.ndarray) -> torch.Tensor | None:
        if len(idx) == 0:
            return None
        pairs = [self.data.preferences[i] for i in idx]
        out = self.network(*self.encode([p.preferred for p in pairs] + [p.other for p in pairs]))
        labels = self.network.heads.label_maps["sentiment"]
        log_probs = F.log_softmax(out.logits["sentiment"].float(), dim=-1)
        negativity = log_probs[:, labels.index("negative")] - log_probs[:, labels.index("positive")]
        preferred, other = negativity[: len(pairs)], negativity[len(pairs) :]
        return -F.logsigmoid(preferred - other).mean()


def class_weights(
    targets: Sequence[tuple[str, int]], label_maps: Mapping[str, Sequence[str]], balance: bool
) -> dict[str, list[float]]:
    """Per task, a weight per class: ``n / (k * n_c)`` over the classes present (so the weights
    average 1 over the examples, "balanced" as in scikit-learn), or all 1 when ``balance`` is off.
    Classes absent from this cycle's examples get weight 1 (nothing to scale)."""
    counts: dict[str, np.ndarray] = {task: np.zeros(len(labels)) for task, labels in label_maps.items()}
    for task, index in targets:
        counts[task][index] += 1
    weights: dict[str, list[float]] = {}
    for task, count in counts.items():
        present = count > 0
        if not balance or not present.any():
            weights[task] = [1.0] * len(count)
            continue
        w = np.ones(len(count))
        w[present] = count.sum() / (present.sum() * count[present])
        weights[task] = [float(v) for v in w]
    return weights


# A head weight this large means logistic regression divided by the near-zero spread of a dead
# feature (a pooled dimension that is ~1e-32 for every text): its contribution is a constant plus
# float noise, and its gradient (~1e31) would swamp every step after clipping.
DEAD_FEATURE_WEIGHT = 1e3


@torch.no_grad()
def repair_dead_features(
    network: ListeningNetwork, texts: Sequence[str], max_length: int
) -> dict[str, list[int]]:
    """Fold the (constant) contribution of dead features into each head's bias and zero their
    weights; returns the repaired columns per task. Predictions keep their argmax up to float noise."""
    weights = {task: network.heads.classifier(task).weight for task in network.heads.tasks}
    dead = {
        task: torch.nonzero(w.abs().amax(dim=0) > DEAD_FEATURE_WEIGHT).flatten()
        for task, w in weights.items()
    }
    if not any(len(cols) for cols in dead.values()) or not texts:
        return {}
    was_training = network.training
    network.eval()
    tokenizer = network.backbone.tokenizer
    batch = tokenizer(
        list(texts)[:256], truncation=True, max_length=max_length, padding=True, return_tensors="pt"
    )
    device = next(network.parameters()).device
    pooled = network.backbone(batch["input_ids"].to(device), batch["attention_mask"].to(device)).double()
    repaired: dict[str, list[int]] = {}
    for task, cols in dead.items():
        if not len(cols):
            continue
        layer = network.heads.classifier(task)
        contribution = (pooled[:, cols] @ layer.weight[:, cols].double().T).mean(dim=0)
        layer.bias.add_(contribution.to(layer.bias.dtype))
        layer.weight[:, cols] = 0.0
        repaired[task] = [int(c) for c in cols]
    network.train(was_training)
    return repaired


def _trainable(network: ListeningNetwork) -> dict[str, torch.nn.Parameter]:
    return {name: p for name, p in network.named_parameters() if p.requires_grad}


_LAYER = re.compile(r"\.(?:layer|layers|h|block)\.(\d+)\.")


def parameter_groups(
    trainable: Mapping[str, torch.nn.Parameter], config: TrainingConfig
) -> list[dict[str, Any]]:
    """AdamW groups: the heads at ``head_learning_rate``; backbone tensors at ``learning_rate``,
    decayed layer by layer from the top when ``layer_decay < 1`` (embeddings lowest).

    Layers are found by name (``encoder.layer.3.``, ``layers.3.``...), so any Hugging Face
    encoder or decoder works; a tensor outside every layer other than the embeddings (a final
    norm, a pooler) trains at the full rate."""
    depths: dict[str, int | None] = {}
    for name in trainable:
        if name.startswith("heads."):
            continue
        match = _LAYER.search(name)
        depths[name] = int(match.group(1)) + 1 if match else (0 if "embed" in name else None)
    top = max((d for d in depths.values() if d is not None), default=0)
    rates: dict[float, list[torch.nn.Parameter]] = {}
    for name, depth in depths.items():
        rate = config.learning_rate * config.layer_decay ** (top - depth if depth is not None else 0)
        rates.setdefault(rate, []).append(trainable[name])
    groups = [{"params": params, "lr": rate} for rate, params in sorted(rates.items())]
    groups.append(
        {
            "params": [p for n, p in trainable.items() if n.startswith("heads.")],
            "lr": config.head_learning_rate,
        }
    )
    return groups


def _prepare(network: ListeningNetwork, config: TrainingConfig) -> None:
    if config.method == "lora":
        from peft import LoraConfig, get_peft_model

        for p in network.backbone.parameters():
            p.requires_grad_(False)
        lora = LoraConfig(
            r=config.lora_rank,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=list(config.lora_targets),
        )
        network.backbone.model = get_peft_model(network.backbone.model, lora)  # type: ignore[assignment]
    for p in network.heads.parameters():
        p.requires_grad_(True)
    if config.freeze_word_embeddings:
        embeddings = network.backbone.model.get_input_embeddings()
        if isinstance(embeddings, torch.nn.Module):
            for p in embeddings.parameters():
                p.requires_grad_(False)


@dataclass(frozen=True)
class _Plans:
    """Which examples each micro-batch reads, per loss (None: that loss is off)."""

    supervised: list[np.ndarray]
    raw: list[np.ndarray] | None
    preferences: list[np.ndarray] | None


def _plans(cycle: _Cycle, data: TrainingData, config: TrainingConfig, total: int) -> _Plans:
    """The batches of all ``total`` steps, drawn up front under ``config.seed``, so a resumed run
    reads the same batches from its step on."""
    n_sup, acc = len(data.examples), config.grad_accumulation
    rng = np.random.default_rng(config.seed)
    micro = total * acc
    pref_batch = max(1, config.batch_size // 4)
    sup_plan = _plan(n_sup, config.batch_size, micro, rng)
    if config.length_grouping and n_sup:
        lengths = np.array(
            [
                len(ids)
                for ids in cycle.tokenizer(
                    [e.text for e in data.examples], truncation=True, max_length=config.max_length
                )["input_ids"]
            ]
        )
        sup_plan = group_by_length(sup_plan, lengths, rng)
    raw_plan = (
        _plan(len(data.raw_texts), config.simcse_batch_size, micro, rng) if config.simcse_weight > 0 else None
    )
    pref_plan = _plan(len(data.preferences), pref_batch, micro, rng) if config.preference_weight > 0 else None
    return _Plans(sup_plan, raw_plan, pref_plan)


def _total_steps(data: TrainingData, config: TrainingConfig) -> int:
    n_sup = len(data.examples)
    base = n_sup if n_sup else max(len(data.raw_texts), len(data.preferences))
    per_step = (config.batch_size if n_sup else config.simcse_batch_size) * config.grad_accumulation
    return config.max_steps or max(1, math.ceil(config.epochs * base / per_step))


def _resume(
    checkpoint: Path,
    fingerprint: str,
    network: ListeningNetwork,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    device: torch.device,
    *,
    version: str,
    total: int,
) -> tuple[int, list[dict[str, float]]]:
    """The step and loss records to go on from: the checkpoint's when it is this run's (same
    fingerprint; its weights, optimizer, schedule and RNG restored), else (0, [])."""
    if not checkpoint.is_file():
        return 0, []
    state = torch.load(checkpoint, map_location=device, weights_only=False)
    if state.get("fingerprint") != fingerprint:
        logger.warning("ignoring checkpoint %s: another run's (parent, data or config differ)", checkpoint)
        return 0, []
    missing = network.load_state_dict(state["params"], strict=False)
    if missing.unexpected_keys:
        raise TrainingError(f"checkpoint has unknown parameters {missing.unexpected_keys[:3]}")
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    step, losses = int(state["step"]), list(state["losses"])
    logger.info("resuming %s from step %d of %d", version, step, total)
    return step, losses


def _step(
    cycle: _Cycle,
    plans: _Plans,
    step: int,
    config: TrainingConfig,
    trainable: dict[str, torch.nn.Parameter],
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
) -> dict[str, float]:
    """One optimizer step (``config.grad_accumulation`` micro-batches) of the weighted losses; the
    step's record: its number, the loss and each term, the top backbone layer's learning rate."""
    acc, device = config.grad_accumulation, cycle.device
    parts: dict[str, float] = {}
    for m in range(step * acc, (step + 1) * acc):
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=cycle.autocast):
            terms = {
                "supervised": (cycle.supervised_loss(plans.supervised[m]), 1.0),
                "simcse": (cycle.simcse_loss(plans.raw[m]) if plans.raw else None, config.simcse_weight),
                "preference": (
                    cycle.preference_loss(plans.preferences[m]) if plans.preferences else None,
                    config.preference_weight,
                ),
            }
            loss = sum(
                (weight * value for value, weight in terms.values() if value is not None),
                torch.zeros((), device=device),
            )
        (loss / acc).backward()
        for name, (value, _) in terms.items():
            if value is not None:
                parts[name] = parts.get(name, 0.0) + float(value.detach()) / acc
    torch.nn.utils.clip_grad_norm_(trainable.values(), config.max_grad_norm)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    record = {
        "step": step + 1,
        "loss": round(sum(parts.values()), 5),
        **{k: round(v, 5) for k, v in parts.items()},
    }
    rates = scheduler.get_last_lr()
    record["lr"] = rates[-2] if len(rates) > 1 else rates[0]  # the top backbone layer's
    return record


def _finish(
    network: ListeningNetwork,
    config: TrainingConfig,
    parent_state: dict[str, torch.Tensor] | None,
    calibration: LabelledTexts | None,
    training: dict[str, Any],
) -> None:
    """The trained network made servable, in place: LoRA merged, on CPU in float32, interpolated
    towards the parent (``config.interpolate``), its sentiment temperature refitted on
    ``calibration`` (recorded in ``training``)."""
    network.eval()
    if config.method == "lora":
        network.backbone.model = network.backbone.model.merge_and_unload()  # type: ignore[operator]
    network.to("cpu", torch.float32)
    if parent_state is not None:
        interpolate_weights(network, parent_state, config.interpolate)
    if calibration is not None and len(calibration):
        temperature = _refit_temperature(network, calibration, config.max_length)
        training["sentiment_temperature"] = round(temperature, 4)


def _save(
    network: ListeningNetwork,
    out_dir: Path,
    checkpoint_dir: Path,
    *,
    version: str,
    max_length: int,
    training: dict[str, Any],
) -> dict[str, Any]:
    """Save the version beside ``out_dir`` and rename it into place (a killed save leaves no
    half-written version), then drop the checkpoint; returns the manifest."""
    partial = out_dir.with_name(out_dir.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    manifest = save_model_version(
        network,
        partial,
        version=version,
        max_length=max_length,
        include_backbone=True,
        training=training,
    )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    if out_dir.exists():
        out_dir.rmdir()  # empty (checked by train_cycle)
    partial.rename(out_dir)
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    return manifest


def train_cycle(
    parent_dir: str | Path,
    data: TrainingData,
    out_dir: str | Path,
    *,
    version: str,
    config: TrainingConfig | None = None,
    checkpoint_dir: str | Path | None = None,
    calibration: LabelledTexts | None = None,
    device: str | None = None,
    progress: bool = True,
    on_step: StepCallback | None = None,
) -> CycleResult:
    """Fine-tune the version at ``parent_dir`` on ``data`` and save the result as ``version`` in ``out_dir``.

    ``checkpoint_dir`` (default ``<out_dir>.checkpoint``) holds the resumable state, written every
    ``config.checkpoint_every`` optimizer steps and removed once the version is saved; a run started
    again with the same parent, data and config resumes there. ``calibration`` (labelled texts)
    refits the sentiment temperature after training (argmax unchanged). Raises TrainingError when
    there is nothing to learn from or a label is unknown.

    In phases: load and prepare the parent, plan the batches, resume from a checkpoint, step,
    finish (merge, interpolate, calibrate) and save.
    """
    started = time.perf_counter()
    config = config or TrainingConfig.from_env()
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise TrainingError(f"{out_dir} exists and is not empty")
    checkpoint_dir = (
        Path(checkpoint_dir) if checkpoint_dir else out_dir.with_name(out_dir.name + ".checkpoint")
    )
    if not data.examples and not data.raw_texts and not data.preferences:
        raise TrainingError("nothing to learn from: no examples, preferences or raw texts")
    settings = ModelSettings.from_env()
    configure_threads(settings.torch_threads)
    network, parent_manifest = load_model_version(parent_dir, cache_dir=settings.cache_dir)
    resolved = resolve_device(device)
    set_seed(config.seed)
    sample = (
        [e.text for e in data.examples[:256]] + data.raw_texts[:256] + [p.preferred for p in data.preferences]
    )
    repaired = repair_dead_features(network, sample, config.max_length)
    if repaired:
        logger.warning("parent heads had dead-feature weights; folded into the biases: %s", repaired)
    # The parent's weights (after the repair above) on CPU, for weight-space interpolation at the end.
    parent_state = (
        {name: tensor.detach().to("cpu", copy=True) for name, tensor in network.state_dict().items()}
        if config.interpolate < 1
        else None
    )
    _prepare(network, config)
    cycle = _Cycle(network.to(resolved), data, config, resolved)
    total = _total_steps(data, config)
    plans = _plans(cycle, data, config, total)

    trainable = _trainable(network)
    optimizer = torch.optim.AdamW(parameter_groups(trainable, config), weight_decay=config.weight_decay)
    logger.info("training %s on %s, %s", version, resolved, "bf16 autocast" if cycle.autocast else "float32")
    scheduler = get_linear_schedule_with_warmup(optimizer, round(config.warmup_ratio * total), total)
    fingerprint = _fingerprint(config, str(parent_manifest.get("checksum", "")), data)
    checkpoint = checkpoint_dir / CHECKPOINT_FILE
    step, losses = _resume(
        checkpoint, fingerprint, network, optimizer, scheduler, resolved, version=version, total=total
    )
    resumed_from = step

    network.train()
    bar = tqdm(total=total, initial=step, disable=not progress, desc=f"train {version}", unit="step")
    while step < total:
        record = _step(cycle, plans, step, config, trainable, optimizer, scheduler)
        step += 1
        losses.append(record)
        logger.info("train_step %s", json.dumps({"version": version, "total": total, **record}))
        bar.update(1)
        bar.set_postfix(loss=f"{record['loss']:.4f}")
        if on_step is not None:
            on_step(step, total, record)
        if step % config.checkpoint_every == 0 and step < total:
            _save_checkpoint(checkpoint, network, optimizer, scheduler, step, losses, fingerprint)
    bar.close()

    training: dict[str, Any] = {
        "config": config.as_dict(),
        "data": data.snapshot(),
        "steps": total,
        "resumed_from": resumed_from,
        "parent": {"version": parent_manifest["version"], "checksum": parent_manifest.get("checksum")},
        "final_loss": losses[-1]["loss"] if losses else None,
        "repaired_head_columns": repaired,
    }
    _finish(network, config, parent_state, calibration, training)
    manifest = _save(
        network,
        out_dir,
        checkpoint_dir,
        version=version,
        max_length=int(parent_manifest["max_length"]),
        training=training,
    )
    seconds = time.perf_counter() - started
    logger.info("trained %s in %.1f s (%d steps, resumed from %d)", version, seconds, total, resumed_from)
    return CycleResult(out_dir, manifest, total, resumed_from, losses, seconds)


@torch.no_grad()
def interpolate_weights(network: torch.nn.Module, parent: Mapping[str, torch.Tensor], alpha: float) -> None:
    """Set every floating-point weight of ``network`` to ``parent + alpha * (weight - parent)`` in
    place (WiSE-FT). ``parent`` must have the same names: taken before LoRA wrapping, compared after
    the adapters are merged."""
    state = network.state_dict()
    missing = [name for name in state if name not in parent]
    if missing:
        raise TrainingError(f"parent weights lack {missing[:3]}")
    for name, tensor in state.items():
        if tensor.is_floating_point():
            tensor.copy_(torch.lerp(parent[name].to(tensor.dtype), tensor, alpha))


def _save_checkpoint(
    path: Path,
    network: ListeningNetwork,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    step: int,
    losses: list[dict[str, float]],
    fingerprint: str,
) -> None:
    """Write the resumable state atomically (:func:`save_atomically`)."""
    state = {
        "fingerprint": fingerprint,
        "step": step,
        "losses": losses,
        "params": {n: p.detach().cpu() for n, p in network.named_parameters() if p.requires_grad}
        | {n: b.detach().cpu() for n, b in network.heads.named_buffers(prefix="heads")},
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
    }
    save_atomically(state, path)


def save_atomically(state: dict[str, Any], path: Path) -> None:
    """``torch.save`` to a temp file, then rename: a kill mid-write keeps the previous checkpoint.
    The reply trainer (``models.generation.training``) checkpoints through it too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + f".tmp-{os.getpid()}")
    torch.save(state, temporary)
    os.replace(temporary, path)


@torch.inference_mode()
def _refit_temperature(network: ListeningNetwork, data: LabelledTexts, max_length: int) -> float:
    labels = network.heads.label_maps["sentiment"]
    tokenizer = network.backbone.tokenizer
    logits = []
    for start in range(0, len(data), 128):
        batch = tokenizer(
            data.texts[start : start + 128],
            truncation=True,
            max_length=max_length,
            padding=True,
            return_tensors="pt",
        )
        logits.append(
            network(batch["input_ids"], batch["attention_mask"]).logits["sentiment"].float().numpy()
        )
    truth = np.array([labels.index(label) for label in data.labels])
    temperature = fit_temperature(np.concatenate(logits), truth)
    network.heads.set_temperature("sentiment", temperature)
    return temperature


def examples_from(texts: LabelledTexts, kind: str = "gold", task: str = "sentiment") -> list[Example]:
    """Wrap a labelled file (``models.datasets``) as training examples."""
    return [Example(t, label, kind, task) for t, label in zip(texts.texts, texts.labels, strict=True)]  # type: ignore[arg-type]
