"""Spam and bot signals → a per-mention bot score in [0, 1] with the reasons behind it.

Signals combine as independent evidence: score = 1 - prod(1 - weight) over the signals that fire.
Batch-level signals (the same text from many authors, one author posting in bursts) look at the
whole batch, so the caller passes the batch together.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

AUTOMATION = re.compile(
    r"follow\s*(?:&|and|\+)\s*(?:rt|retweet)|\brt\s+to\s+win\b|\bgiveaway\b|\bdm\s+me\b|earn\s+\$\s?\d+"
    r"|\bclick\s+(?:here|the\s+link)\b|\b100%\s+free\b|\bairdrop\b|\bcrypto\b|\bpromo\s+code\b|\b\d{2}%\s+off\b"
    r"|\bwork\s+from\s+home\b|\bfree\s+followers\b",
    re.I,
)
_WORD = re.compile(r"(?<![@#\w])[^\W\d_]{2,}")
_HASHTAG = re.compile(r"#\w+")
_HANDLE = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+", re.I)

WEIGHTS = {
    "automation_pattern": 0.6,
    "link_only": 0.5,
    "hashtag_stuffing": 0.4,
    "mention_stuffing": 0.4,
    "same_text_many_authors": 0.6,
    "burst_posting": 0.35,
    "shouting": 0.15,
}
SAME_TEXT_AUTHORS = 3
BURST_POSTS_PER_HOUR = 8


@dataclass(frozen=True)
class SpamVerdict:
    score: float
    reasons: tuple[str, ...]


def item_signals(text: str) -> list[str]:
    reasons = []
    if AUTOMATION.search(text):
        reasons.append("automation_pattern")
    if _URL.search(text) and len(_WORD.findall(_URL.sub(" ", text))) < 3:
        reasons.append("link_only")
    if len(_HASHTAG.findall(text)) >= 5:
        reasons.append("hashtag_stuffing")
    if len(_HANDLE.findall(text)) >= 5:
        reasons.append("mention_stuffing")
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 20 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        reasons.append("shouting")
    return reasons


def score_batch(
    texts: Sequence[str], authors: Sequence[str], times: Sequence[datetime], content_keys: Sequence[str]
) -> list[SpamVerdict]:
    """Verdicts for a batch; ``content_keys`` groups identical texts (e.g. the content hash)."""
    authors_by_key: dict[str, set[str]] = defaultdict(set)
    for key, author in zip(content_keys, authors, strict=True):
        if author:
            authors_by_key[key].add(author)
    per_author_hour: Counter[tuple[str, str]] = Counter(
        (author, moment.strftime("%Y%m%d%H")) for author, moment in zip(authors, times, strict=True) if author
    )
    verdicts = []
    for text, author, moment, key in zip(texts, authors, times, content_keys, strict=True):
        reasons = item_signals(text)
        if len(authors_by_key[key]) >= SAME_TEXT_AUTHORS:
            reasons.append("same_text_many_authors")
        if author and per_author_hour[(author, moment.strftime("%Y%m%d%H"))] >= BURST_POSTS_PER_HOUR:
            reasons.append("burst_posting")
        remaining = 1.0
        for reason in reasons:
            remaining *= 1 - WEIGHTS[reason]
        verdicts.append(SpamVerdict(round(1 - remaining, 3), tuple(reasons)))
    return verdicts
