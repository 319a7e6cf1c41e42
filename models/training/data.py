"""What a cycle learns from: labelled examples by kind, pairwise preferences and raw text, plus the
deliberate choices on top (feedback caps, pseudo-label threshold and class balance, replay sample).

All pure functions over plain data, so the Django side only gathers rows and the rules are tested
without a database.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Kind = Literal["gold", "feedback", "pseudo", "replay"]
KINDS: tuple[Kind, ...] = ("gold", "feedback", "pseudo", "replay")


@dataclass(frozen=True)
class Example:
    """One labelled text for one head (``task``: "sentiment" or "intent")."""

    text: str
    label: str
    kind: Kind = "gold"
    task: str = "sentiment"


@dataclass(frozen=True)
class Preference:
    """``preferred`` is judged more negative than ``other`` (sentiment ranking)."""

    preferred: str
    other: str


@dataclass
class TrainingData:
    examples: list[Example] = field(default_factory=list)
    preferences: list[Preference] = field(default_factory=list)
    raw_texts: list[str] = field(default_factory=list)

    def snapshot(self) -> dict[str, int]:
        """Counts by kind: recorded with the version as its data snapshot."""
        counts = Counter(example.kind for example in self.examples)
        snapshot: dict[str, int] = {kind: counts.get(kind, 0) for kind in KINDS}
        snapshot["preferences"] = len(self.preferences)
        snapshot["raw_texts"] = len(self.raw_texts)
        return snapshot


@dataclass(frozen=True)
class FeedbackItem:
    """An analyst's correction as the caps see it: ``key`` identifies the row (for the audit trail)."""

    key: int
    user: str
    text: str
    label: str
    task: str = "sentiment"


@dataclass(frozen=True)
class CapResult:
    kept: list[FeedbackItem]
    dropped: dict[int, str]  # key -> reason


def normalise_text(text: str) -> str:
    """Case-, width- and whitespace-insensitive form used to spot identical corrections."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"\s+", " ", text).strip()


def cap_feedback(items: Sequence[FeedbackItem], *, per_user: int, per_cycle: int) -> CapResult:
    """Keep at most ``per_user`` corrections per user and ``per_cycle`` in all, in the given order
    (callers pass oldest first). The same normalised text and task counts once per cycle whoever
    sent it, so hundreds of identical corrections are one example, not hundreds.
    """
    if per_user < 0 or per_cycle < 0:
        raise ValueError("caps must be >= 0")
    kept: list[FeedbackItem] = []
    dropped: dict[int, str] = {}
    by_user: Counter[str] = Counter()
    seen: set[tuple[str, str]] = set()
    for item in items:
        identity = (item.task, normalise_text(item.text))
        if not identity[1]:
            dropped[item.key] = "empty text"
        elif identity in seen:
            dropped[item.key] = "duplicate text in this cycle"
        elif by_user[item.user] >= per_user:
            dropped[item.key] = f"over the per-user cap ({per_user})"
        elif len(kept) >= per_cycle:
            dropped[item.key] = f"over the per-cycle cap ({per_cycle})"
        else:
            kept.append(item)
            by_user[item.user] += 1
            seen.add(identity)
    return CapResult(kept, dropped)


def feedback_concentration(items: Sequence[FeedbackItem]) -> dict[str, float]:
    """How concentrated the incoming corrections are: distinct users, and the share of the most
    repeated normalised text. The gate refuses to auto-promote on a handful of voices."""
    if not items:
        return {"n": 0, "users": 0, "top_text_share": 0.0}
    texts = Counter(normalise_text(item.text) for item in items)
    return {
        "n": len(items),
        "users": len({item.user for item in items}),
        "top_text_share": round(texts.most_common(1)[0][1] / len(items), 4),
    }


def pseudo_labels(
    texts: Sequence[str],
    probs: np.ndarray,
    labels: Sequence[str],
    *,
    threshold: float = 0.9,
    balance_ratio: float = 2.0,
    seed: int = 0,
) -> list[Example]:
    """Confident predictions as pseudo-labels.

    A text is kept when its top probability is at least ``threshold`` (calibrated probabilities, so
    0.9 means about 90 % right). Confident predictions are skewed towards the easy majority class,
    so each class is capped at ``balance_ratio`` times the rarest confident class: the model would
    otherwise teach itself its own bias.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape != (len(texts), len(labels)):
        raise ValueError(f"probs must be [{len(texts)}, {len(labels)}], got {probs.shape}")
    if not 0 < threshold <= 1:
        raise ValueError("threshold must be in (0, 1]")
    confident = np.flatnonzero(probs.max(axis=1) >= threshold) if len(texts) else np.zeros(0, int)
    by_class: dict[int, list[int]] = defaultdict(list)
    for i in confident:
        by_class[int(probs[i].argmax())].append(int(i))
    if len(by_class) < len(labels):
        return []  # some class never confident: a one-sided pseudo set would only add bias
    cap = max(1, int(min(len(rows) for rows in by_class.values()) * balance_ratio))
    rng = random.Random(seed)
    chosen: list[Example] = []
    for cls, rows in sorted(by_class.items()):
        rng.shuffle(rows)
        chosen += [Example(texts[i], labels[cls], "pseudo") for i in rows[:cap]]
    return chosen


def replay_sample(examples: Sequence[Example], n: int, *, seed: int = 0) -> list[Example]:
    """A stratified random sample of earlier data (kind "replay") that guards against forgetting."""
    if n <= 0 or not examples:
        return []
    by_label: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_label[example.label].append(example)
    n = min(n, len(examples))
    labels = sorted(by_label)
    exact = {label: n * len(by_label[label]) / len(examples) for label in labels}
    take = {label: int(exact[label]) for label in labels}
    # Largest remainders get the leftover rows, so the sample has exactly n rows.
    for label in sorted(labels, key=lambda lb: exact[lb] - take[lb], reverse=True)[: n - sum(take.values())]:
        take[label] += 1
    rng = random.Random(seed)
    sample: list[Example] = []
    for label in labels:
        rows = by_label[label]
        sample += [Example(e.text, e.label, "replay", e.task) for e in rng.sample(rows, take[label])]
    return sample
