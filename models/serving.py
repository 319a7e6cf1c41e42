"""What a served prediction shows: the version's serving thresholds and the rule for showing intent.

No torch and no Django: the enrichment worker, ``POST /api/v1/analyze`` and the benchmarks share it.

Thresholds (``manifest["serving"]``, chosen on validation data when the version was built)::

    {"intent_min_confidence": float in [0, 1], "irony_threshold": float in [0, 1]}

A version without the block (or without one of its keys) is served with :data:`DEFAULT_SERVING`.

The intent rule (:func:`shows_intent`): a support intent is shown only for text that can carry
one, i.e. support transcripts, questions and complaints. A happy tweet about a jacket asks for
nothing, whatever the head says about it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.artifacts import ArtifactError
from models.labels import NO_INTENT

# The sentiment label that makes a text a complaint (models.labels.SENTIMENT's negative class).
COMPLAINT_SENTIMENT = "negative"


@dataclass(frozen=True)
class ServingThresholds:
    """``intent_min_confidence``: an intent whose calibrated probability is below it is served as
    None. ``irony_threshold``: the irony flag is ``irony_prob >= irony_threshold``."""

    intent_min_confidence: float = 0.5
    irony_threshold: float = 0.5

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> ServingThresholds:
        """The thresholds a version's manifest sets, defaults for those it does not.

        Raises ArtifactError when the block is not an object or a value is not a number in [0, 1].
        """
        block = manifest.get("serving")
        if block is None:
            return DEFAULT_SERVING
        if not isinstance(block, dict):
            raise ArtifactError(f"manifest 'serving' must be an object, got {type(block).__name__}")
        values: dict[str, float] = {}
        for key in ("intent_min_confidence", "irony_threshold"):
            if key not in block:
                continue
            value = block[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ArtifactError(f"manifest serving.{key} must be a number in [0, 1], got {value!r}")
            values[key] = float(value)
        return cls(**values)


DEFAULT_SERVING = ServingThresholds()


def served_intents(
    probs: np.ndarray, labels: Sequence[str], min_confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """The intents to serve from the intent head's calibrated probabilities ``[N, len(labels)]``.

    Returns (``[N]`` object array: the top label, or None where it is the abstention label
    ``NO_INTENT`` or its probability is below ``min_confidence``; ``[N]`` the top label's
    probability, whether served or not). Versions from before the abstention class only have the
    confidence rule.
    """
    top = probs.argmax(axis=1)
    top_prob = np.take_along_axis(probs, top[:, None], axis=1)[:, 0]
    unsure = top_prob < min_confidence
    if NO_INTENT in labels:
        unsure |= top == list(labels).index(NO_INTENT)
    intent = np.asarray(labels, dtype=object)[top]
    intent[unsure] = None
    return intent, top_prob


_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
# Where a sentence starts: the text's start, or after ., !, ?, ; or a line break.
_SENTENCE = re.compile(r"(?:^|[.!?;\n]+)\s*")
# What may come before a sentence's first word: handles, quotes, brackets, dashes, a greeting
# ("Hi team," "Hello Northwind!") and the "RT @x:" of a repost.
_LEAD = re.compile(
    r"(?:\s|rt\b|@\w+:?|[\"'\u2018\u2019\u201c\u201d(\[\-\u2013\u2014,:]"
    r"|(?:hi|hello|hey|hiya|dear|good (?:morning|afternoon|evening))\b"
    r"(?:[^,.!?\n]{0,30}[,.!:\n\u2013\u2014]|\s))*",
    re.IGNORECASE,
)
_AUX = (
    r"(?:is|are|am|was|were|do|does|did|can|could|will|would|should|shall|may|might|has|have"
    r"|isn't|aren't|wasn't|doesn't|don't|didn't|can't|won't|wouldn't|couldn't|shouldn't|haven't|hasn't)"
)
_SUBJECT = (
    r"(?:i|you|u|ya|we|they|he|she|it|there|this|that|anyone|anybody|anything|someone|somebody"
    r"|something|any|my|your|our)"
)
# "Is the store open", "Does the tent come in green": an article subject only after these.
_AUX_BEFORE_ARTICLE = r"(?:is|are|do|does|did|can|could|will|would|should)"
# A question without its question mark ("where is my order", "can you help", "how long does it take")
# or a request ("I need", "I want to", "please"...), at the start of a sentence. A wh-word counts only
# before an auxiliary or a quantity word, so "What a day" and "When I got home" do not; an auxiliary
# only before its subject, so "Can't wait" and "Had a great time" do not.
_ASKS = re.compile(
    r"(?:"
    rf"(?:how|what|where|when|why|who|which|whose)(?:'s|'re|\s+{_AUX}\b|\s+(?:long|much|many|soon|to)\b)"
    rf"|{_AUX}\s+{_SUBJECT}\b"
    rf"|{_AUX_BEFORE_ARTICLE}\s+(?:the|a|an)\b"
    r"|i\s+(?:need|want\s+(?:to|my|a|an)|would\s+like|wanna|wish\s+to|have\s+(?:a|an)\s+"
    r"(?:question|problem|issue)|was\s+wondering|wonder\s+(?:if|whether|how|why|when|where))\b"
    r"|i'd\s+like\b|i(?:'m|\s+am)\s+(?:trying|looking|unable|waiting)\b"
    r"|(?:please|pls|plz|help|kindly)\b"
    r"|(?:let\s+me\s+know|tell\s+me|is\s+there\s+a\s+way)\b"
    r"|(?:any\s?one|anybody|someone|somebody)\s+(?:know|knows|else|have|has|got|tried|help|seen)\b"
    r")",
    re.IGNORECASE,
)


def is_question(text: str) -> bool:
    """True when ``text`` asks something: it has a question mark outside a URL, or one of its
    sentences opens as a question or a request ("how do I...", "can you...", "where is...",
    "I need...", "I want to...", "please..."), after any handles or greeting."""
    text = _URL.sub(" ", text.replace("\u2019", "'").replace("\uff1f", "?"))  # curly ', full-width ?
    if "?" in text:
        return True
    for start in _SENTENCE.finditer(text):
        lead = _LEAD.match(text, start.end())
        if _ASKS.match(text, lead.end() if lead else start.end()):
            return True
    return False


def shows_intent(text: str, *, support: bool, sentiment: str) -> bool:
    """Whether a text's intent is shown: it is a support transcript (``support``: its source kind is
    a help-desk one), a complaint (its ``sentiment`` label is negative) or a question
    (:func:`is_question`). Otherwise its intent is None however confident the head is."""
    return support or sentiment == COMPLAINT_SENTIMENT or is_question(text)
