"""The VADER lexicon as a three-class sentiment labeller.

Used twice: as the lexicon baseline beside our model in evaluations, and as the weak labeller
that builds the cold-start sentiment head from unlabelled text. Thresholds are VADER's own
recommendation (compound >= 0.05 positive, <= -0.05 negative, neutral between).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05


@functools.cache
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def vader_compound(texts: Sequence[str]) -> np.ndarray:
    """VADER compound score in [-1, 1] per text."""
    analyzer = _analyzer()
    return np.array([analyzer.polarity_scores(text)["compound"] for text in texts], dtype=np.float32)


def label_from_compound(compound: np.ndarray) -> np.ndarray:
    return np.where(
        compound >= POSITIVE_AT, "positive", np.where(compound <= NEGATIVE_AT, "negative", "neutral")
    )


def vader_labels(texts: Sequence[str]) -> np.ndarray:
    """negative/neutral/positive per text."""
    return label_from_compound(vader_compound(texts))
