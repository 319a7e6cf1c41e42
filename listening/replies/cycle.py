"""The reply-model cycle: the seeds' predict → check against the real agent → gradient step, on one
organization's own pairs, then the reply gate. Imports torch and peft: ``train`` workers and
``manage.py train_replies`` only; it runs through ``listening.learning.services.do_run_training_cycle``
(a ``TrainingCycle`` with ``task="replies"``), as the sentiment cycle does.

- Split by time, never by pair: the organization's most recent pairs (``REPLIES_GATE_PAIRS``, at
  most a quarter of them) are held out for the gate; the cycle trains on the older ones (the newest
  ``REPLIES_TRAIN_MAX_PAIRS``).
- Each cycle fine-tunes the shipped decoder afresh (a new LoRA adapter, or every weight with
  ``REPLIES_LORA=false``) on all those pairs, then runs DPO on the preference pairs
  (``listening.replies.feedback``: analysts' rankings, picks and sent texts) when there are any.
- Prompts are the brand's guidelines and the thread (``models.generation.prompt``); retrieved
  examples are left out of training prompts, so the adapter learns the voice rather than copying.
- The gate measures the candidate and the active reply model on the same held-out pairs
  (``models.generation.evaluation``) and ``metrics.decide`` promotes only if nothing regresses.

The inputs (pair ids, preferences, seed) are pinned on the cycle at its first start, so a cycle
killed at any point and started again trains on the same data and resumes from its checkpoint.
Weights are saved under ``MODELS_DIR`` from the database's pairs alone; nothing here reads the
development data folder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from listening.learning.cycle import CycleOutcome
from listening.learning.errors import CycleCannotRun
from listening.learning.models import CycleStatus, ModelTask, ModelVersion, TrainingCycle
from listening.learning.registry import do_promote, get_active_version, register_version
from listening.mentions.enrichment import load_version
from listening.replies.feedback import PreferenceBatch, collect_preferences, mark_preferences
from listening.replies.models import ReplyPair
from listening.replies.queries import guidelines_for
from listening.replies.registry import active_reply_model, decoder_for
from models.artifacts import read_manifest
from models.generation.decoder import Messages, load_decoder
from models.generation.evaluation import HeldOutPair, evaluate
from models.generation.metrics import decide
from models.generation.prompt import Guidelines, ReplyRequest, Turn, build_messages
from models.generation.training import ReplyTrainConfig, train_replies
from models.generation.tuning import PreferenceExample, SftExample, TuneConfig

log = structlog.get_logger(__name__)

TOO_FEW_PAIRS = (
    "too few reply pairs to learn from: a reply cycle needs at least 2 (one to train on, the most "
    "recent held out for the gate); import support transcripts or threads with the brand's replies first"
)
DISTRACTOR_POOL = 2000


def reply_checkpoint_dir(cycle: TrainingCycle) -> Path:
    return Path(settings.MODELS_DIR) / ".checkpoints" / f"replies-cycle-{cycle.pk}"


def collect_reply_inputs(organization_id: int, seed: int) -> dict[str, Any]:
    """What the cycle learns from and is judged on (pair ids, preference texts), split by time."""
    ids = list(
        ReplyPair.objects.filter(organization_id=organization_id)
        .order_by("replied_at", "id")
        .values_list("id", flat=True)
    )
    if len(ids) < 2:
        raise CycleCannotRun(TOO_FEW_PAIRS)
    held = min(settings.REPLIES_GATE_PAIRS, max(1, len(ids) // 4))
    train, held_out = ids[:-held], ids[-held:]
    judged = collect_preferences(organization_id)
    return {
        "train": train[-settings.REPLIES_TRAIN_MAX_PAIRS :],
        "held_out": held_out,
        "preferences": [asdict(example) for example in judged.examples],
        # The judgements behind them (and those that teach nothing), marked on the audit trail
        # when the cycle has a version; those over a cap stay for the next cycle.
        "preference_feedback": judged.trained,
        "preference_dropped": {str(pk): why for pk, why in judged.dropped.items()},
        "newest_pair": ids[-1],
        "seed": seed,
    }


def pair_messages(pairs: Sequence[ReplyPair]) -> list[Messages]:
    """The prompt of each pair as the decoder would see it answering the customer (no examples)."""
    cache: dict[tuple[int, int | None], Guidelines] = {}
    out: list[Messages] = []
    for pair in pairs:
        key = (pair.customer_mention_id, pair.brand_id)
        if key not in cache:
            cache[key] = guidelines_for(pair.customer_mention, pair.brand_id)
        context = [
            Turn(str(turn.get("role")), str(turn.get("text", "")))
            for turn in pair.context
            if isinstance(turn, dict) and str(turn.get("text", "")).strip()
        ]
        thread = (*context, Turn("customer", pair.customer_text))
        out.append(build_messages(ReplyRequest(guidelines=cache[key], thread=thread)))
    return out


def _pairs(ids: Sequence[int]) -> list[ReplyPair]:
    rows = ReplyPair.objects.filter(id__in=list(ids)).select_related("customer_mention__organization")
    by_id = {row.pk: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]  # a pair deleted since the cycle started is skipped


# What ``manage.py train_replies --set FIELD=VALUE`` may override, with its type.
OVERRIDES: dict[str, type] = {
    "lora": bool,
    "lora_rank": int,
    "lora_alpha": int,
    "learning_rate": float,
    "beta": float,
    "batch_size": int,
    "sft_steps": int,
    "dpo_steps": int,
    "checkpoint_every": int,
}


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``["lora=false", "sft_steps=3"]`` → typed overrides; raises CycleCannotRun on a bad one."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        kind = OVERRIDES.get(name)
        if not sep or kind is None:
            raise CycleCannotRun(
                f"expected FIELD=VALUE with FIELD one of {', '.join(OVERRIDES)}, got {item!r}"
            )
        try:
            out[name] = raw.strip().lower() in ("1", "true", "yes", "on") if kind is bool else kind(raw)
        except ValueError:
            raise CycleCannotRun(f"{name}: bad value {raw!r}") from None
    return out


def config_from_settings(overrides: dict[str, Any], seed: int) -> ReplyTrainConfig:
    """The cycle's training config from ``REPLIES_*`` settings, with ``OVERRIDES`` on top."""
    tune_fields = {"lora", "lora_rank", "lora_alpha", "learning_rate", "beta"}
    loop_fields = set(OVERRIDES) - tune_fields
    unknown = set(overrides) - set(OVERRIDES)
    if unknown:
        raise CycleCannotRun(f"unknown reply training settings: {', '.join(sorted(unknown))}")
    tune = {
        "lora": settings.REPLIES_LORA,
        "learning_rate": settings.REPLIES_LEARNING_RATE,
        "seed": seed,
    } | {k: v for k, v in overrides.items() if k in tune_fields}
    loop = {
        "batch_size": settings.REPLIES_TRAIN_BATCH,
        "sft_steps": settings.REPLIES_TRAIN_STEPS,
        "dpo_steps": settings.REPLIES_DPO_STEPS,
        "checkpoint_every": settings.REPLIES_CHECKPOINT_EVERY,
    } | {k: v for k, v in overrides.items() if k in loop_fields}
    try:
        return ReplyTrainConfig(tune=TuneConfig(**tune), **loop)
    except (TypeError, ValueError) as exc:
        raise CycleCannotRun(f"bad reply training settings: {exc}") from exc


def _embedder(organization_id: int) -> Callable[[Sequence[str]], np.ndarray]:
    """The organization's active encoder: the same embeddings retrieval uses."""
    model = load_version(get_active_version(organization_id))

    def embed(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(model.predict(list(texts)).embedding)

    return embed


def gate_reply_model(
    candidate: ModelVersion | Path,
    active: ModelVersion,
    organization_id: int,
    held_out_ids: Sequence[int],
    *,
    seed: int,
    progress: bool = False,
    base: str | None = None,
    lora: bool = True,
) -> tuple[dict[str, float], dict[str, float]]:
    """(candidate metrics, active metrics) on the held-out pairs, the same distractors for both."""
    held = _pairs(held_out_ids)
    if not held:
        raise CycleCannotRun("the held-out pairs of this cycle no longer exist")
    examples = [HeldOutPair(m, p.agent_text) for m, p in zip(pair_messages(held), held, strict=True)]
    distractors = list(
        ReplyPair.objects.filter(organization_id=organization_id)
        .order_by("-replied_at", "-id")
        .values_list("agent_text", flat=True)[:DISTRACTOR_POOL]
    )
    if isinstance(candidate, Path):
        decoder = load_decoder(base, adapter=candidate) if lora else load_decoder(str(candidate))
    else:
        decoder = decoder_for(candidate)
    kwargs: dict[str, Any] = {
        "embed": _embedder(organization_id),
        "distractors": distractors,
        "candidates": settings.REPLIES_GATE_CANDIDATES,
        "max_new_tokens": settings.REPLIES_GATE_MAX_NEW_TOKENS,
        "seed": seed,
        "progress": progress,
    }
    return evaluate(decoder, examples, **kwargs), evaluate(decoder_for(active), examples, **kwargs)


def run_reply_cycle(
    cycle: TrainingCycle,
    *,
    progress: bool,
    config_overrides: dict[str, Any],
    on_step: Callable[[int, int, dict[str, float]], None] | None,
) -> CycleOutcome:
    """Train, gate, register and (when the gate passes) promote a reply model. Raises CycleCannotRun
    before pinning anything when there is too little to learn from."""
    organization_id = cycle.organization_id
    if not cycle.inputs:
        parent = active_reply_model(organization_id)
        inputs = collect_reply_inputs(organization_id, seed=13 + cycle.pk)
        cycle.parent, cycle.inputs = parent, inputs
        cycle.save(update_fields=["parent", "inputs"])
    else:
        parent = cycle.parent or active_reply_model(organization_id)
    inputs = cycle.inputs
    config = config_from_settings(config_overrides, seed=int(inputs["seed"]))
    train = _pairs(inputs["train"])
    sft = [SftExample(m, p.agent_text) for m, p in zip(pair_messages(train), train, strict=True)]
    preferences = [PreferenceExample(**row) for row in inputs["preferences"]]
    snapshot = {"pairs": len(sft), "held_out": len(inputs["held_out"]), "preferences": len(preferences)}
    TrainingCycle.objects.filter(pk=cycle.pk).update(data_snapshot=snapshot)
    name = f"replies-org{organization_id}-c{cycle.pk}"
    out = Path(settings.MODELS_DIR) / name
    base = load_decoder()  # every cycle tunes the shipped decoder afresh on all the pairs so far

    def step_callback(step: int, total: int, record: dict[str, float]) -> None:
        if step == 1 or step == total or step % 10 == 0:
            TrainingCycle.objects.filter(pk=cycle.pk).update(step=step, total_steps=total)
        if on_step is not None:
            on_step(step, total, record)

    if not (out / "manifest.json").is_file():  # a cycle killed after saving does not train again
        train_replies(
            base,
            sft,
            preferences,
            out,
            version=name,
            config=config,
            checkpoint_dir=reply_checkpoint_dir(cycle),
            progress=progress,
            on_step=step_callback,
        )
    manifest = read_manifest(out, verify=True)
    candidate_metrics, active_metrics = gate_reply_model(
        out,
        parent,
        organization_id,
        inputs["held_out"],
        seed=int(inputs["seed"]),
        progress=progress,
        base=base.reference,
        lora=config.tune.lora,
    )
    decision = decide(candidate_metrics, active_metrics)
    metrics = {
        "candidate": candidate_metrics,
        "active": active_metrics,
        "active_version": parent.name,
        "losses": manifest.get("losses", {}),
    }
    with transaction.atomic():
        version = ModelVersion.objects.filter(name=name).first() or register_version(
            organization_id=organization_id,
            name=name,
            parent=parent,
            directory=out,
            manifest=manifest,
            hyperparameters=config.as_dict() | {"lora": config.tune.lora},
            data_snapshot=snapshot,
            metrics=metrics,
            gate_reason=("passed: " if decision.promote else "blocked: ") + decision.reason,
            task=ModelTask.REPLIES,
        )
    promoted = False
    if decision.promote and settings.REPLIES_AUTO_PROMOTE:
        do_promote(version)
        promoted = True
    TrainingCycle.objects.filter(pk=cycle.pk).update(
        status=CycleStatus.SUCCEEDED, version=version, finished_at=timezone.now(), error=""
    )
    cycle.refresh_from_db()
    # Judgements count as used once a version trained on them serves; a blocked candidate leaves
    # them to the next cycle.
    mark_preferences(
        PreferenceBatch(
            trained=[int(pk) for pk in inputs.get("preference_feedback", [])] if promoted else [],
            dropped={int(pk): str(why) for pk, why in inputs.get("preference_dropped", {}).items()},
        ),
        version.name,
    )
    version.refresh_from_db()
    log.info("reply_cycle_done", cycle_id=cycle.pk, version=name, promoted=promoted, reason=decision.reason)
    return CycleOutcome(cycle, version, promoted)
