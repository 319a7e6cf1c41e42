"""The reply gate's measurement: a decoder against an organization's held-out pairs. No Django.

For every held-out pair (the prompt as the decoder would see it, and the real agent's reply):

- ``log_likelihood``: the decoder's mean log-likelihood per token of the real reply;
- ``recall_at_1`` / ``recall_at_5``: the real reply's rank among ``candidates`` replies (itself and
  distractors drawn, seeded, from ``distractors``: other pairs' real replies) scored by the decoder
  for the same prompt;
- ``rouge_l`` and ``cosine``: between the decoder's top (greedy) suggestion and the real reply,
  cosine over ``embed``'s vectors.

Each is averaged over the pairs; ``pairs`` counts them. The names are ``metrics.METRICS``, so the
result feeds ``metrics.decide`` as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from models.generation.decoder import Decoder, Messages
from models.generation.metrics import recall_at, rouge_l


@dataclass(frozen=True)
class HeldOutPair:
    messages: Messages  # the prompt as sent to the decoder (models.generation.prompt types)
    reply: str  # the real agent's reply


def _distractors(pool: Sequence[str], reply: str, count: int, rng: np.random.Generator) -> list[str]:
    """``count`` texts of ``pool`` other than ``reply`` (all of them when there are fewer)."""
    others = [text for text in dict.fromkeys(pool) if text.strip() != reply.strip()]
    if len(others) <= count:
        return others
    picked = rng.choice(len(others), size=count, replace=False)
    return [others[int(i)] for i in picked]


def _cosines(embed: Callable[[Sequence[str]], np.ndarray], left: list[str], right: list[str]) -> np.ndarray:
    vectors = np.asarray(embed([*left, *right]), dtype=np.float64)
    vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    a, b = vectors[: len(left)], vectors[len(left) :]
    return np.asarray((a * b).sum(axis=1))


def evaluate(
    decoder: Decoder,
    pairs: Sequence[HeldOutPair],
    *,
    embed: Callable[[Sequence[str]], np.ndarray],
    distractors: Sequence[str],
    candidates: int = 100,
    max_new_tokens: int = 64,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, float]:
    """Every gate metric (``metrics.METRICS``) of ``decoder`` on ``pairs``, plus ``"pairs"``.

    ``candidates`` counts the real reply: 100 means the real one and 99 distractors (fewer when
    ``distractors`` holds fewer distinct texts). The same ``seed`` draws the same distractors, so a
    candidate and the active model are measured on the same lists. Raises ValueError on no pairs.
    """
    if not pairs:
        raise ValueError("evaluate needs at least one held-out pair")
    if candidates < 1:
        raise ValueError("candidates must be at least 1 (the real reply)")
    rng = np.random.default_rng(seed)
    iterator: Sequence[HeldOutPair] = pairs
    if progress:
        from tqdm import tqdm

        iterator = tqdm(pairs, desc="gate", unit="pair")
    log_likelihood: list[float] = []
    at_1: list[float] = []
    at_5: list[float] = []
    rouge: list[float] = []
    suggestions: list[str] = []
    for pair in iterator:
        listed = [pair.reply, *_distractors(distractors, pair.reply, candidates - 1, rng)]
        scores = decoder.score(pair.messages, listed)
        log_likelihood.append(scores[0])
        at_1.append(recall_at(scores, 0, 1))
        at_5.append(recall_at(scores, 0, 5))
        top = decoder.greedy(pair.messages, max_new_tokens=max_new_tokens)
        suggestions.append(top)
        rouge.append(rouge_l(top, pair.reply))
    cosine = _cosines(embed, suggestions, [pair.reply for pair in pairs])
    result = {
        "log_likelihood": float(np.mean(log_likelihood)),
        "recall_at_1": float(np.mean(at_1)),
        "recall_at_5": float(np.mean(at_5)),
        "rouge_l": float(np.mean(rouge)),
        "cosine": float(np.mean(cosine)),
        "pairs": float(len(pairs)),
    }
    return result
