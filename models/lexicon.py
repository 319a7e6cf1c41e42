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


def weak_sentiment_labels(texts: Sequence[str], *, polar_at: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Confident VADER labels for weak supervision: (labels, keep mask).

    Only texts the lexicon is sure about are kept: positive/negative when ``|compound| >= polar_at``,
    neutral when the lexicon found no sentiment at all (compound exactly 0). The unsure middle is
    dropped: on sentiment/train.tsv this keeps ~63 % of the tweets and lifts the head trained on
    them by ~0.5 point macro recall on val over using every VADER label (measured when choosing 0.5
    from 0.05/0.3/0.4/0.5/0.6).
    """
    compound = vader_compound(texts)
    labels = np.where(
        compound >= polar_at, "positive", np.where(compound <= -polar_at, "negative", "neutral")
    )
    keep = (np.abs(compound) >= polar_at) | (compound == 0.0)
    return labels, keep
