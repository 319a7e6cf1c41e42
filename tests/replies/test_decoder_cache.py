"""The decoder reads a prompt once for all its drafts and scores: the same numbers as reading it
once per row, on the packaged SmolLM2 (in float32, so the comparison is exact on every CPU)."""

from __future__ import annotations

import copy

import pytest
import torch

from models.generation.decoder import Decoder, load_decoder
from models.generation.prompt import Example, Guidelines, ReplyRequest, Turn, build_messages

GUIDE = Guidelines(brand="Northwind Outdoor", text="Warm and brief; no refunds.", sign_off="- Northwind Care")
MESSAGES = build_messages(
    ReplyRequest(
        GUIDE,
        (Turn("customer", "My StormShell zipper broke on day two. Order 4471. Fix this."),),
        (
            Example(
                "Zip stuck halfway, is this normal?", "It isn't! Free repair: book a pickup. - Northwind Care"
            ),
        ),
    )
)
REPLIES = [
    "So sorry about the zipper! We repair it for free: book a pickup. - Northwind Care",
    "Thanks for reaching out.",
    "A new pull ships today; tracking follows by email.",
]


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    base = load_decoder(device="cpu")
    private = copy.copy(base)  # the process-wide cached decoder stays as it is
    private.model = copy.deepcopy(base.model).float()
    return private


@torch.inference_mode()
def _score_reading_the_prompt_per_row(decoder: Decoder, replies: list[str]) -> list[float]:
    prompt = decoder.prompt_ids(MESSAGES)[0]
    chunk = [decoder.reply_ids(text) for text in replies]
    width = max(len(ids) for ids in chunk)
    rows = torch.zeros((len(chunk), prompt.shape[0] + width), dtype=torch.long)
    mask = torch.zeros_like(rows)
    for i, ids in enumerate(chunk):
        rows[i, : prompt.shape[0]] = prompt
        rows[i, prompt.shape[0] : prompt.shape[0] + len(ids)] = torch.tensor(ids)
        mask[i, : prompt.shape[0] + len(ids)] = 1
    logits = decoder.model(input_ids=rows, attention_mask=mask).logits.float()
    logprobs = torch.log_softmax(logits[:, prompt.shape[0] - 1 : -1], dim=-1)
    picked = logprobs.gather(-1, rows[:, prompt.shape[0] :].unsqueeze(-1)).squeeze(-1)
    reply_mask = mask[:, prompt.shape[0] :].float()
    return ((picked * reply_mask).sum(1) / reply_mask.sum(1)).tolist()


@pytest.mark.slow
def test_scores_from_the_shared_prompt_cache_equal_full_reads(decoder: Decoder) -> None:
    expected = _score_reading_the_prompt_per_row(decoder, REPLIES)
    assert decoder.score(MESSAGES, REPLIES) == pytest.approx(expected, abs=1e-4)
    # Chunks of one reply each take the same path with a one-row cache.
    assert decoder.score(MESSAGES, REPLIES, batch_size=1) == pytest.approx(expected, abs=1e-4)


@pytest.mark.slow
def test_drafts_from_the_shared_prompt_cache_are_seeded_and_distinct(decoder: Decoder) -> None:
    drafts = decoder.sample(MESSAGES, 4, max_new_tokens=12, seed=7)
    assert len(drafts) == 4 and all(drafts)
    assert len(set(drafts)) > 1  # each row samples on its own copy of the cache
    assert decoder.sample(MESSAGES, 4, max_new_tokens=12, seed=7) == drafts


@pytest.mark.slow
def test_a_process_keeps_at_most_the_configured_decoders(monkeypatch: pytest.MonkeyPatch) -> None:
    """The least recently used decoder is let go when one more is loaded; asked for again, it is
    loaded again (a new object), while the one in use stays cached."""
    from collections import OrderedDict

    from models.generation import decoder as module
    from models.settings import ModelSettings

    monkeypatch.setattr(module, "_LOADED", OrderedDict())
    monkeypatch.setenv("LISTENING_REPLY_DECODERS", "1")
    shipped = load_decoder(device="cpu")
    # The same weights under a second reference: the checkpoint directory the package resolves to.
    directory = module.checkpoint_dir(
        module.resolve_backbone(shipped.reference), ModelSettings.from_env().cache_dir
    )
    local = load_decoder(str(directory), device="cpu")
    assert list(module._LOADED) == [(str(directory), "")]
    assert load_decoder(str(directory), device="cpu") is local
    again = load_decoder(device="cpu")
    assert again is not shipped and list(module._LOADED) == [(shipped.reference, "")]
    monkeypatch.setenv("LISTENING_REPLY_DECODERS", "2")
    assert load_decoder(str(directory), device="cpu") is not local
    assert load_decoder(device="cpu") is again and len(module._LOADED) == 2


@pytest.mark.slow
def test_training_log_probabilities_read_only_the_reply_logits_and_equal_full_reads(decoder: Decoder) -> None:
    """SFT and DPO project only the reply's positions onto the vocabulary (``logits_to_keep``),
    through the LoRA wrapper too; the log-probabilities are those of a full read."""
    from peft import LoraConfig, get_peft_model

    from models.generation.decoder import last_logits
    from models.generation.tuning import reply_logprob

    assert last_logits(decoder.model, 5) == {"logits_to_keep": 5}
    expected = _score_reading_the_prompt_per_row(decoder, REPLIES)
    for text, mean in zip(REPLIES, expected, strict=True):
        total, count = reply_logprob(decoder.model, decoder, MESSAGES, text)
        assert count == len(decoder.reply_ids(text)) and float(total) / count == pytest.approx(mean, abs=1e-4)
    wrapped = get_peft_model(
        copy.deepcopy(decoder.model), LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM")
    )
    assert last_logits(wrapped, 5) == {"logits_to_keep": 5}  # the adapters start at zero: same model
    total, count = reply_logprob(wrapped, decoder, MESSAGES, REPLIES[0])
    assert float(total) / count == pytest.approx(expected[0], abs=1e-4)

    class Plain(torch.nn.Module):  # a causal LM whose forward has no logits_to_keep
        def forward(self, input_ids: torch.Tensor) -> None:
            return None

    assert last_logits(Plain(), 5) == {}
