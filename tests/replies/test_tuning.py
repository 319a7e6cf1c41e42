"""SFT and DPO each move their loss on the packaged SmolLM2, for a few real steps."""

from __future__ import annotations

import copy

import pytest
import torch

from models.generation.decoder import load_decoder
from models.generation.prompt import Guidelines, ReplyRequest, Turn, build_messages
from models.generation.tuning import PreferenceExample, SftExample, TuneConfig, dpo_loss, sft_loss, trainable

GUIDE = Guidelines(brand="Northwind Outdoor", text="Warm and brief.", sign_off="- Northwind Care")


def _messages(text: str) -> list[dict[str, str]]:
    return build_messages(ReplyRequest(GUIDE, (Turn("customer", text),)))


@pytest.mark.slow
def test_sft_and_dpo_move_their_loss() -> None:
    torch.set_num_threads(1)
    # A private copy: the process-wide cached decoder must not be trained in place.
    base = load_decoder()
    decoder = copy.copy(base)
    decoder.model = copy.deepcopy(base.model)
    batch = [
        SftExample(
            _messages("My StormShell zipper broke."), "So sorry! We will repair it for free. - Northwind Care"
        ),
        SftExample(
            _messages("Where is my order NW-1?"), "It ships tomorrow, thanks for waiting! - Northwind Care"
        ),
    ]
    model = trainable(decoder, TuneConfig(lora=True, learning_rate=5e-3))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-3)
    with torch.no_grad():
        before = float(sft_loss(model, decoder, batch))
    for _ in range(4):
        optimizer.zero_grad()
        sft_loss(model, decoder, batch).backward()
        optimizer.step()
    with torch.no_grad():
        after = float(sft_loss(model, decoder, batch))
    assert after < before - 0.05, (before, after)

    # DPO against the frozen reference: the adapters off is the untouched decoder.
    pairs = [
        PreferenceExample(
            _messages("My StormShell zipper broke."),
            chosen="So sorry! Send it to us and we will repair it for free.",
            rejected="Not our problem.",
        )
    ]
    reference = base.model
    with torch.no_grad():
        before_dpo = float(dpo_loss(model, reference, decoder, pairs, beta=0.1))
    for _ in range(4):
        optimizer.zero_grad()
        dpo_loss(model, reference, decoder, pairs, beta=0.1).backward()
        optimizer.step()
    with torch.no_grad():
        after_dpo = float(dpo_loss(model, reference, decoder, pairs, beta=0.1))
    assert after_dpo < before_dpo, (before_dpo, after_dpo)
    # The reference stayed frozen: the cached decoder's weights are what they were.
    assert all(not p.requires_grad or p.grad is None for p in reference.parameters())
