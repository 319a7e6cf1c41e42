"""Teaching the decoder: supervised fine-tuning on the brand's real replies, and DPO on preferences.

- SFT (the seeds' "check against what the real rep did"): the loss is the negative log-likelihood of
  the real agent's reply tokens after the prompt (prompt tokens are not trained on). LoRA adapters
  through peft by default; ``lora=False`` trains every weight.
- DPO (Rafailov et al. 2023): for a prompt with a chosen and a rejected reply, with a frozen
  reference model, ``-log sigmoid(beta * ((log p(c) - log p_ref(c)) - (log p(r) - log p_ref(r))))`` over
  summed reply log-probabilities. The loss is written here rather than taken from ``trl``: trl 0.24.0 installs
  without touching torch but pulls datasets, pyarrow and pandas, and its trainer owns the training
  loop, while ours (checkpoints, resume, caps) is the project's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from models.generation.decoder import Decoder, Messages, last_logits


@dataclass(frozen=True)
class TuneConfig:
    lora: bool = True
    lora_rank: int = 8
    lora_alpha: int = 16
    learning_rate: float = 2e-4
    beta: float = 0.1  # DPO temperature
    seed: int = 0

    def __post_init__(self) -> None:
        if self.lora_rank < 1 or self.learning_rate <= 0 or self.beta <= 0:
            raise ValueError("lora_rank >= 1, learning_rate > 0 and beta > 0 are required")


@dataclass(frozen=True)
class SftExample:
    messages: Messages  # the prompt (system, examples, thread)
    reply: str  # the real agent's reply


@dataclass(frozen=True)
class PreferenceExample:
    messages: Messages
    chosen: str  # the text actually sent, or the analyst's pick
    rejected: str


def _sequence(decoder: Decoder, messages: Messages, reply: str) -> tuple[torch.Tensor, int]:
    prompt = decoder.prompt_ids(messages)[0]
    reply_ids = torch.tensor(decoder.reply_ids(reply), dtype=torch.long, device=decoder.device)
    return torch.cat([prompt, reply_ids]), int(prompt.shape[0])


def reply_logprob(
    model: nn.Module, decoder: Decoder, messages: Messages, reply: str
) -> tuple[torch.Tensor, int]:
    """(summed log-probability of ``reply``'s tokens after the prompt, number of tokens) under ``model``."""
    ids, start = _sequence(decoder, messages, reply)
    keep = last_logits(model, int(ids.shape[0]) - start + 1)  # the reply's positions and the one before
    logits = model(input_ids=ids.unsqueeze(0), **keep).logits[0]
    logits = (logits[:-1] if keep else logits[start - 1 : -1]).float()
    picked = torch.log_softmax(logits, dim=-1).gather(-1, ids[start:].unsqueeze(-1)).squeeze(-1)
    return picked.sum(), int(picked.shape[0])


def sft_loss(model: nn.Module, decoder: Decoder, batch: Sequence[SftExample]) -> torch.Tensor:
    """Mean negative log-likelihood per reply token over the batch."""
    total = torch.zeros((), device=decoder.device)
    tokens = 0
    for example in batch:
        logprob, count = reply_logprob(model, decoder, example.messages, example.reply)
        total = total - logprob
        tokens += count
    return total / max(tokens, 1)


def dpo_loss(
    policy: nn.Module,
    reference: nn.Module,
    decoder: Decoder,
    batch: Sequence[PreferenceExample],
    *,
    beta: float,
) -> torch.Tensor:
    """The DPO loss over the batch (``reference`` frozen: no gradient flows through it)."""
    losses = []
    for example in batch:
        chosen, _ = reply_logprob(policy, decoder, example.messages, example.chosen)
        rejected, _ = reply_logprob(policy, decoder, example.messages, example.rejected)
        with torch.no_grad():
            ref_chosen, _ = reply_logprob(reference, decoder, example.messages, example.chosen)
            ref_rejected, _ = reply_logprob(reference, decoder, example.messages, example.rejected)
        margin = (chosen - ref_chosen) - (rejected - ref_rejected)
        losses.append(-nn.functional.logsigmoid(beta * margin))
    return torch.stack(losses).mean()


def trainable(decoder: Decoder, config: TuneConfig) -> nn.Module:
    """The model to train: ``decoder.model`` wrapped in LoRA adapters (peft), or itself for a full
    fine-tune. The decoder's own weights stay untouched under LoRA, so it serves as DPO's frozen
    reference with the adapters disabled."""
    torch.manual_seed(config.seed)
    if not config.lora:
        decoder.model.train()
        return decoder.model
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=0.0,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(decoder.model, lora)
    model.train()
    return model
