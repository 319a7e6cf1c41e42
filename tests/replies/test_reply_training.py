"""The reply training loop on the packaged SmolLM2: SFT then DPO into a LoRA adapter (the frozen
reference is the adapters switched off), and a full fine-tune saved as a whole, loadable checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from models.generation.decoder import load_decoder
from models.generation.prompt import Guidelines, ReplyRequest, Turn, build_messages
from models.generation.training import ReplyTrainConfig, train_replies
from models.generation.tuning import PreferenceExample, SftExample, TuneConfig

GUIDE = Guidelines(brand="Northwind Outdoor", text="Warm and brief.", sign_off="- Northwind Care")


def _messages(text: str) -> list[dict[str, str]]:
    return build_messages(ReplyRequest(GUIDE, (Turn("customer", text),)))


SFT = [
    SftExample(_messages("My StormShell zipper broke."), "So sorry! We repair it for free. - Northwind Care"),
    SftExample(
        _messages("Where is my order NW-1?"), "It ships tomorrow, thanks for waiting! - Northwind Care"
    ),
]
PREFERENCES = [
    PreferenceExample(
        _messages("My StormShell zipper broke."),
        chosen="So sorry! Send it to us and we will repair it for free.",
        rejected="Not our problem.",
    )
]


@pytest.mark.slow
def test_sft_then_dpo_saves_an_adapter_and_leaves_the_served_decoder_alone(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    base = load_decoder(device="cpu")
    before = base.score(SFT[0].messages, [SFT[0].reply])[0]
    steps: list[tuple[int, float]] = []
    manifest = train_replies(
        base,
        SFT,
        PREFERENCES,
        tmp_path / "v",
        version="t-lora",
        config=ReplyTrainConfig(tune=TuneConfig(learning_rate=5e-3), batch_size=2, sft_steps=3, dpo_steps=2),
        checkpoint_dir=tmp_path / "ckpt",
        on_step=lambda step, total, record: steps.append((step, record["phase"])),
    )
    assert steps == [(1, 0.0), (2, 0.0), (3, 0.0), (4, 1.0), (5, 1.0)]
    assert manifest["steps"] == {"sft": 3, "dpo": 2} and manifest["lora"] is True
    assert (tmp_path / "v" / "adapter_config.json").is_file() and not (tmp_path / "ckpt").exists()
    assert json.loads((tmp_path / "v" / "manifest.json").read_text())["checksum"] == manifest["checksum"]
    # The cached decoder kept serving untouched; the adapter on top of it learnt the reply.
    assert base.score(SFT[0].messages, [SFT[0].reply])[0] == pytest.approx(before, abs=1e-5)
    tuned = load_decoder(base.reference, adapter=tmp_path / "v", device="cpu")
    assert tuned.score(SFT[0].messages, [SFT[0].reply])[0] > before


@pytest.mark.slow
def test_a_full_fine_tune_is_a_whole_checkpoint(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    base = load_decoder(device="cpu")
    before = base.score(SFT[1].messages, [SFT[1].reply])[0]
    train_replies(
        base,
        SFT,
        [],
        tmp_path / "full",
        version="t-full",
        config=ReplyTrainConfig(tune=TuneConfig(lora=False, learning_rate=1e-4), batch_size=2, sft_steps=1),
        checkpoint_dir=tmp_path / "ckpt",
    )
    assert (tmp_path / "full" / "config.json").is_file() and not (
        tmp_path / "full" / "adapter_config.json"
    ).exists()
    tuned = load_decoder(str(tmp_path / "full"), device="cpu")
    assert tuned.score(SFT[1].messages, [SFT[1].reply])[0] > before
