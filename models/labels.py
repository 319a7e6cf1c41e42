"""Label sets of the heads. The order is the order of each head's output units.

Saved into every model version's manifest, so a version always carries the label maps it was
trained with; these constants are only the defaults for building new heads.
"""

from __future__ import annotations

SENTIMENT = ("negative", "neutral", "positive")
EMOTION = ("anger", "joy", "optimism", "sadness")
IRONY = ("not_irony", "irony")
TASKS = ("sentiment", "emotion", "irony", "intent")


def label2id(labels: tuple[str, ...] | list[str]) -> dict[str, int]:
    """Map each label to its output unit; labels must be unique."""
    mapping = {label: i for i, label in enumerate(labels)}
    if len(mapping) != len(labels):
        raise ValueError(f"duplicate labels in {labels!r}")
    return mapping
