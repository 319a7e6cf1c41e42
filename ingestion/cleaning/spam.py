"""Spam and bot signals → a per-mention bot score in [0, 1] with the reasons behind it.

Signals combine as independent evidence: score = 1 - prod(1 - weight) over the signals that fire.
Batch-level signals (the same text from many authors, one author posting in bursts) look at the
whole batch, so the caller passes the batch together.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

# Matched against lower-cased text. One leading \b for the whole alternation: the engine then
# tries the branches only at word starts (several times faster than a \b per branch).
AUTOMATION = re.compile(
    r"\b(?:"
    r"(?:(?:follow|like)\s*(?:&|and|\+|/)\s*(?:rt|retweet)|(?:rt|retweet)\s*(?:&|and|\+|/)\s*(?:follow|like))"
    r"\b.{0,40}\b(?:win|chance)"
    r"|(?:rt|retweet)\s+to\s+win\b|giveaway\b|dm\s+(?:me|us)\b|earn\s+\$\s?\d+"
    r"|click\s+(?:here|the\s+link)\b|100%\s+free\b|free\s+followers\b|work\s+from\s+home\b"
    r"|promo\s+code\b|\d{2}%\s+off\b|link\s+in\s+(?:bio|profile)\b"
    r")"
)
# Crypto and "double your money" scams are their own reason: common, and worth filtering alone.
CRYPTO = re.compile(
    r"\b(?:airdrop|crypto|bitcoin|btc|eth|usdt|nft|presale|whitelist|free\s+mint|memecoin|web3"
    r"|double\s+your|send\s+\d+(?:\.\d+)?\s*(?:btc|eth|usdt)|(?:100|10)x|to\s+the\s+moon)\b"
)
_EITHER = re.compile(f"{AUTOMATION.pattern}|{CRYPTO.pattern}")
_WORD = re.compile(r"(?<![@#\w])[^\W\d_]{2,}")
_CAPS_RUN = re.compile(r"[^\W\d_a-z]{4}")
_LETTER = re.compile(r"[^\W\d_]")
_HASHTAG = re.compile(r"#\w+")
_HANDLE = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+", re.I)

WEIGHTS = {
    "automation_pattern": 0.6,
    "crypto_pattern": 0.5,
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
    """The per-text reasons (batch-level ones are added by ``score_batch``)."""
    reasons = []
    # The patterns are written lower-case: searching lowered text beats re.I.
    lowered = text.lower()
    if _EITHER.search(lowered):  # one pass decides for the common clean text
        if AUTOMATION.search(lowered):
            reasons.append("automation_pattern")
        if CRYPTO.search(lowered):
            reasons.append("crypto_pattern")
    if ("http" in lowered or "www." in lowered) and len(_WORD.findall(_URL.sub(" ", text))) < 3:
        reasons.append("link_only")
    # str.count is a cheap upper bound on the number of hashtags/handles.
    if text.count("#") >= 5 and len(_HASHTAG.findall(text)) >= 5:
        reasons.append("hashtag_stuffing")
    if text.count("@") >= 5 and len(_HANDLE.findall(text)) >= 5:
        reasons.append("mention_stuffing")
    # Shouting needs a run of capitals somewhere: a cheap test before counting every letter.
    if _CAPS_RUN.search(text):
        letters = _LETTER.findall(text)
        if len(letters) >= 20 and sum(map(str.isupper, letters)) / len(letters) > 0.7:
            reasons.append("shouting")
    return reasons


def _hour(moment: datetime) -> int:
    """The clock hour a post falls in (as written, so one batch's times compare consistently)."""
    return moment.toordinal() * 24 + moment.hour


def score_batch(
    texts: Sequence[str],
    authors: Sequence[str],
    times: Sequence[datetime | None],
    content_keys: Sequence[str],
) -> list[SpamVerdict]:
    """Verdicts for a batch; ``content_keys`` groups identical texts (the content hash, or the
    canonical key so near-copies count too). Posts without a time are left out of the posting
    rate."""
    # Distinct authors per content key, counted from the distinct (key, author) pairs.
    authors_per_key = Counter(key for key, author in set(zip(content_keys, authors, strict=True)) if author)
    slots = [
        (author, _hour(moment)) if author and moment else None
        for author, moment in zip(authors, times, strict=True)
    ]
    per_author_hour = Counter(slot for slot in slots if slot is not None)
    verdicts = []
    for text, slot, key in zip(texts, slots, content_keys, strict=True):
        reasons = item_signals(text)
        if authors_per_key[key] >= SAME_TEXT_AUTHORS:
            reasons.append("same_text_many_authors")
        if slot is not None and per_author_hour[slot] >= BURST_POSTS_PER_HOUR:
            reasons.append("burst_posting")
        remaining = 1.0
        for reason in reasons:
            remaining *= 1 - WEIGHTS[reason]
        verdicts.append(SpamVerdict(round(1 - remaining, 3), tuple(reasons)))
    return verdicts
