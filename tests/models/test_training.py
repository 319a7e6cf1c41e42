"""The training service on the real packaged model: each learning mode moves its loss, checkpoints
resume after kill -9, and the data rules (caps, pseudo-labels, replay) hold."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from models.settings import DEFAULT_MODEL_DIR, REPO_ROOT
from models.training.config import TrainingConfig, TrainingConfigError, parse_overrides
from models.training.data import (
    Example,
    FeedbackItem,
    Preference,
    TrainingData,
    cap_feedback,
    feedback_concentration,
    pseudo_labels,
    replay_sample,
)
from models.training.evaluate import open_version
from models.training.trainer import CHECKPOINT_FILE, TrainingError, class_weights, train_cycle

TEXTS = [
    "I love this phone, the camera is stunning",
    "worst service ever, never ordering again",
    "the store opens at 9 on weekdays",
    "great battery life and a lovely screen",
    "my order is late again, awful support",
    "the meeting moved to tuesday afternoon",
    "so happy with the new update",
    "this app keeps crashing, terrible",
]
LABELS = ["positive", "negative", "neutral", "positive", "negative", "neutral", "positive", "negative"]
# Deliberately "wrong" to the current model, so the loss has somewhere to go.
FLIPPED = ["neutral", "neutral", "positive", "neutral", "neutral", "negative", "neutral", "neutral"]

FAST = TrainingConfig(
    max_steps=5, batch_size=8, simcse_batch_size=8, warmup_ratio=0.0, checkpoint_every=100, max_length=32
)


def sentiment_loss(path: Path, texts: list[str], labels: list[str]) -> float:
    model = open_version(path, device="cpu")
    order = model.label_maps["sentiment"]
    logits = torch.from_numpy(model.logits(texts)["sentiment"])
    return float(F.cross_entropy(logits, torch.tensor([order.index(label) for label in labels])))


def negativity(path: Path, texts: list[str]) -> np.ndarray:
    model = open_version(path, device="cpu")
    order = model.label_maps["sentiment"]
    log_probs = torch.log_softmax(torch.from_numpy(model.logits(texts)["sentiment"]), dim=-1).numpy()
    return log_probs[:, order.index("negative")] - log_probs[:, order.index("positive")]


@pytest.mark.parametrize("method", ["lora", pytest.param("full", marks=pytest.mark.slow)])
def test_supervised_feedback_moves_the_loss(tmp_path: Path, method: str) -> None:
    data = TrainingData(examples=[Example(t, y, "feedback") for t, y in zip(TEXTS, FLIPPED, strict=True)])
    config = FAST.replace(method=method, learning_rate=3e-4 if method == "lora" else 1e-4)
    result = train_cycle(
        DEFAULT_MODEL_DIR, data, tmp_path / "v", version="t-sup", config=config, progress=False
    )
    assert result.steps == 5 and len(result.losses) == 5
    before = sentiment_loss(DEFAULT_MODEL_DIR, TEXTS, FLIPPED)
    after = sentiment_loss(result.directory, TEXTS, FLIPPED)
    assert after < before - 0.05, (before, after)
    manifest = json.loads((result.directory / "manifest.json").read_text())
    assert manifest["backbone"]["weights"] == "included"
    assert manifest["training"]["data"]["feedback"] == 8
    assert manifest["training"]["config"]["method"] == method


def test_pseudo_labels_from_the_active_model_sharpen_it(tmp_path: Path) -> None:
    model = open_version(DEFAULT_MODEL_DIR, device="cpu")
    predictions = model.predict(TEXTS)
    examples = pseudo_labels(
        TEXTS, predictions.sentiment_probs, model.label_maps["sentiment"], threshold=0.34
    )
    assert examples and all(e.kind == "pseudo" for e in examples)
    data = TrainingData(examples=examples)
    # No label smoothing: self-training on its own argmax must sharpen the model, lowering this loss.
    result = train_cycle(
        DEFAULT_MODEL_DIR,
        data,
        tmp_path / "v",
        version="t-pseudo",
        config=FAST.replace(head_learning_rate=3e-3, label_smoothing=0.0),
        progress=False,
    )
    texts, labels = [e.text for e in examples], [e.label for e in examples]
    assert sentiment_loss(result.directory, texts, labels) < sentiment_loss(DEFAULT_MODEL_DIR, texts, labels)


def test_simcse_on_raw_text_moves_its_loss(tmp_path: Path) -> None:
    # Near-duplicates make the in-batch negatives hard, so the contrastive loss starts well above 0.
    raw = [f"my order number {n} from the shop arrived late again" for n in range(12)]
    config = FAST.replace(
        max_steps=6, simcse_batch_size=12, simcse_weight=1.0, learning_rate=1e-3, max_length=16
    )
    result = train_cycle(
        DEFAULT_MODEL_DIR,
        TrainingData(raw_texts=raw),
        tmp_path / "v",
        version="t-simcse",
        config=config,
        progress=False,
    )
    simcse = [step["simcse"] for step in result.losses]
    assert simcse[0] > 0.1
    assert np.mean(simcse[-3:]) < np.mean(simcse[:3]), simcse


def test_preferences_move_the_ranking_loss(tmp_path: Path) -> None:
    # Each pair says the first is more negative: the opposite of what the model believes.
    pairs = [Preference(TEXTS[0], TEXTS[1]), Preference(TEXTS[3], TEXTS[4]), Preference(TEXTS[6], TEXTS[7])]
    config = FAST.replace(batch_size=12, learning_rate=3e-4)
    result = train_cycle(
        DEFAULT_MODEL_DIR,
        TrainingData(preferences=pairs),
        tmp_path / "v",
        version="t-pref",
        config=config,
        progress=False,
    )

    def ranking_loss(path: Path) -> float:
        score = negativity(path, [p.preferred for p in pairs] + [p.other for p in pairs])
        margin = score[: len(pairs)] - score[len(pairs) :]
        return float(np.mean(np.log1p(np.exp(-margin))))

    assert ranking_loss(result.directory) < ranking_loss(DEFAULT_MODEL_DIR)


def test_interpolation_lands_between_parent_and_trained(tmp_path: Path) -> None:
    """WiSE-FT: with the same seed and data, interpolate=0.5 saves the midpoint of the parent's and
    the fully trained weights (LoRA: compared after the adapters are merged)."""
    from safetensors.torch import load_file

    data = TrainingData(examples=[Example(t, y, "feedback") for t, y in zip(TEXTS, FLIPPED, strict=True)])
    config = FAST.replace(method="lora", learning_rate=3e-4, max_steps=3)
    full = train_cycle(DEFAULT_MODEL_DIR, data, tmp_path / "a", version="t-1", config=config, progress=False)
    half = train_cycle(
        DEFAULT_MODEL_DIR,
        data,
        tmp_path / "b",
        version="t-half",
        config=config.replace(interpolate=0.5),
        progress=False,
    )
    parent = load_file(str(DEFAULT_MODEL_DIR / "heads.safetensors"))
    trained, midpoint = (load_file(str(r.directory / "heads.safetensors")) for r in (full, half))
    name = "classifiers.sentiment.weight"
    assert not torch.allclose(trained[name], parent[name])
    torch.testing.assert_close(midpoint[name], (parent[name] + trained[name]) / 2, atol=1e-5, rtol=1e-4)
    weights = load_file(str(half.directory / "backbone" / "model.safetensors"))
    assert (
        json.loads((half.directory / "manifest.json").read_text())["training"]["config"]["interpolate"] == 0.5
    )
    assert all(not key.startswith("base_model") and "lora" not in key for key in weights)
    with pytest.raises(TrainingConfigError):
        TrainingConfig(interpolate=0.0)


def test_training_refuses_empty_data_and_unknown_labels(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="nothing to learn"):
        train_cycle(
            DEFAULT_MODEL_DIR, TrainingData(), tmp_path / "a", version="x", config=FAST, progress=False
        )
    with pytest.raises(TrainingError, match="not in the 'sentiment' head"):
        train_cycle(
            DEFAULT_MODEL_DIR,
            TrainingData(examples=[Example("x", "furious")]),
            tmp_path / "b",
            version="x",
            config=FAST,
            progress=False,
        )


def test_kill_minus_nine_resumes_from_the_checkpoint(tmp_path: Path) -> None:
    train = tmp_path / "train.tsv"
    train.write_text(
        "label\ttext\n" + "".join(f"{y}\t{t}\n" for t, y in zip(TEXTS * 4, LABELS * 4, strict=True))
    )
    out, checkpoint = tmp_path / "v", tmp_path / "ckpt"
    command = [
        sys.executable, "-m", "models.training", "--out", str(out), "--checkpoint-dir", str(checkpoint),
        "--train", str(train), "--no-progress",
        "--set", "max_steps=12", "--set", "checkpoint_every=2",
        "--set", "batch_size=4", "--set", "max_length=24",
    ]  # fmt: skip
    env = os.environ | {"PYTHONPATH": str(REPO_ROOT), "LISTENING_TORCH_THREADS": "1"}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO_ROOT
    )
    deadline = time.monotonic() + 240
    while not (checkpoint / CHECKPOINT_FILE).is_file():
        assert process.poll() is None, "training ended before writing a checkpoint"
        assert time.monotonic() < deadline, "no checkpoint written"
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "manifest.json").exists()
    finished = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 12
    assert 2 <= summary["resumed_from"] < 12
    assert (out / "manifest.json").is_file() and not checkpoint.exists()


def test_feedback_caps_per_user_per_cycle_and_duplicates() -> None:
    items = [FeedbackItem(i, "mallory", "Acme is GREAT", "negative") for i in range(300)]
    items += [FeedbackItem(1000 + i, f"user{i % 3}", f"text {i}", "positive") for i in range(30)]
    capped = cap_feedback(items, per_user=5, per_cycle=12)
    kept_users = [item.user for item in capped.kept]
    assert sum(1 for item in capped.kept if item.user == "mallory") == 1  # one text counts once
    assert all(kept_users.count(user) <= 5 for user in set(kept_users))
    assert len(capped.kept) == 12
    assert len(capped.kept) + len(capped.dropped) == len(items)
    assert capped.dropped[1] == "duplicate text in this cycle"
    assert "per-cycle cap" in capped.dropped[1029]
    stats = feedback_concentration(items)
    assert stats["users"] == 4 and stats["top_text_share"] > 0.9
    assert cap_feedback([FeedbackItem(1, "u", "   ", "negative")], per_user=5, per_cycle=5).dropped == {
        1: "empty text"
    }


def test_pseudo_labels_threshold_and_class_balance() -> None:
    labels = ("negative", "neutral", "positive")
    probs = np.array(
        [[0.95, 0.03, 0.02]] * 2
        + [[0.01, 0.97, 0.02]] * 50
        + [[0.02, 0.02, 0.96]] * 3
        + [[0.5, 0.3, 0.2]] * 10
    )
    texts = [f"t{i}" for i in range(len(probs))]
    chosen = pseudo_labels(texts, probs, labels, threshold=0.9, balance_ratio=2.0)
    counts = {label: sum(e.label == label for e in chosen) for label in labels}
    assert counts == {"negative": 2, "neutral": 4, "positive": 3}
    assert not {e.text for e in chosen} & {f"t{i}" for i in range(55, 65)}  # unconfident rows never
    assert pseudo_labels(texts[:52], probs[:52, :], labels, threshold=0.99) == []  # a class never confident
    with pytest.raises(ValueError):
        pseudo_labels(texts, probs[:3], labels)


def test_class_weights_balance_each_task() -> None:
    maps = {"sentiment": ["negative", "neutral", "positive"], "intent": ["a", "b"]}
    targets = [("sentiment", 0)] * 1 + [("sentiment", 1)] * 6 + [("sentiment", 2)] * 3
    weights = class_weights(targets, maps, balance=True)
    # n / (k * n_c): 10 / 3 / 1, 10 / 3 / 6, 10 / 3 / 3; every class then weighs 10 / 3 in all.
    assert weights["sentiment"] == pytest.approx([10 / 3, 10 / 18, 10 / 9])
    assert weights["intent"] == [1.0, 1.0]  # no intent examples: nothing to scale
    counts = [1, 6, 3]
    assert sum(w * c for w, c in zip(weights["sentiment"], counts, strict=True)) == pytest.approx(10)
    assert class_weights(targets, maps, balance=False)["sentiment"] == [1.0, 1.0, 1.0]


def test_replay_sample_is_stratified_and_seeded() -> None:
    earlier = [Example(f"n{i}", "negative") for i in range(100)] + [
        Example(f"p{i}", "positive") for i in range(300)
    ]
    sample = replay_sample(earlier, 40, seed=1)
    assert sum(e.label == "negative" for e in sample) == 10 and len(sample) == 40
    assert all(e.kind == "replay" for e in sample)
    assert sample == replay_sample(earlier, 40, seed=1)


def test_config_from_env_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTENING_TRAIN_METHOD", "full")
    monkeypatch.setenv("LISTENING_TRAIN_BATCH_SIZE", "8")
    config = TrainingConfig.from_env(seed=3)
    assert (config.method, config.batch_size, config.seed) == ("full", 8, 3)
    assert parse_overrides(["max_steps=7", "lora_targets=query,value"]) == {
        "max_steps": 7,
        "lora_targets": ("query", "value"),
    }
    monkeypatch.setenv("LISTENING_TRAIN_BATCH_SIZE", "many")
    with pytest.raises(TrainingConfigError):
        TrainingConfig.from_env()
    for bad in (["method=adapters"], ["nope=1"], ["batch_size=0"]):
        with pytest.raises(TrainingConfigError):
            parse_overrides(bad)
