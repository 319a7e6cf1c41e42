"""What the reply gate measures on an organization's held-out recent pairs, and its decision. Pure.

- ``log_likelihood``: mean log-likelihood per token of the real reply (higher is better);
- ``recall_at_1`` / ``recall_at_5``: the real reply's rank among candidates (the real one and 99
  other agents' replies) scored by the model for the same prompt;
- ``rouge_l``: ROUGE-L F1 between the top suggestion and the real reply (token LCS);
- ``cosine``: embedding cosine between the top suggestion and the real reply.

A candidate is promoted only if no metric regresses beyond its tolerance against the active model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+", re.UNICODE)

METRICS = ("log_likelihood", "recall_at_1", "recall_at_5", "rouge_l", "cosine")
# How far each may fall before it counts as a regression: noise on a small held-out slice.
TOLERANCE: Mapping[str, float] = {
    "log_likelihood": 0.02,
    "recall_at_1": 0.02,
    "recall_at_5": 0.02,
    "rouge_l": 0.01,
    "cosine": 0.01,
}


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 over lower-cased word tokens (0 when either side is empty)."""
    a, b = tokens(candidate), tokens(reference)
    if not a or not b:
        return 0.0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    lcs = previous[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


def recall_at(scores: Sequence[float], true_index: int, k: int) -> float:
    """1.0 if the candidate at ``true_index`` is among the ``k`` best scored (ties count against it)."""
    mine = scores[true_index]
    better = sum(1 for i, score in enumerate(scores) if i != true_index and score >= mine)
    return 1.0 if better < k else 0.0


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str


def decide(candidate: Mapping[str, float], active: Mapping[str, float]) -> GateDecision:
    """Promote unless a metric falls below the active model's by more than its tolerance."""
    worse = [
        f"{name} {candidate[name]:.4f} < {active[name]:.4f}"
        for name in METRICS
        if candidate[name] < active[name] - TOLERANCE[name]
    ]
    if worse:
        return GateDecision(False, "regresses: " + "; ".join(worse))
    return GateDecision(True, "no metric regresses")
