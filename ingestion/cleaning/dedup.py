"""Exact and near-duplicate detection.

Exact: a SHA-256 of the text reduced to its words (case, URLs, handles, "RT @x:" prefixes and
punctuation removed), stored on each mention and indexed. Near: MinHash over word 3-shingles in an
LSH index (datasketch), so retweets with a comment, copy-paste campaigns with small edits and
quote-tweets collapse onto one canonical mention.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Iterable

from datasketch import LeanMinHash, MinHash, MinHashLSH

NUM_PERM = 64
THRESHOLD = 0.85
SHINGLE = 3
_RT = re.compile(r"^\s*(?:RT|MT)\s+@\w+:?\s*", re.I)
_STRIP = re.compile(r"https?://\S+|www\.\S+|@\w+|[^\w\s#]")
_SPACE = re.compile(r"\s+")


def canonical_words(text: str) -> str:
    text = _RT.sub("", text)
    return _SPACE.sub(" ", _STRIP.sub(" ", text.lower())).strip()


def content_hash(text: str) -> str:
    return hashlib.sha256(canonical_words(text).encode("utf-8")).hexdigest()


def shingles(words: str) -> list[bytes]:
    tokens = words.split()
    if len(tokens) < SHINGLE:
        return [" ".join(tokens).encode("utf-8")] if tokens else []
    return [" ".join(tokens[i : i + SHINGLE]).encode("utf-8") for i in range(len(tokens) - SHINGLE + 1)]


# Generated once: MinHash() would otherwise redraw the same permutations for every text.
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=1)
_PERMUTATIONS, _SCHEME = _TEMPLATE.permutations, _TEMPLATE.scheme


def signature(words: str) -> LeanMinHash | None:
    grams = shingles(words)
    if len(grams) < 2:  # too short to call anything a near-duplicate of it
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=1, permutations=_PERMUTATIONS, scheme=_SCHEME)
    minhash.update_batch(grams)
    return LeanMinHash(minhash)


class DedupIndex:
    """Remembers the most recent ``capacity`` distinct texts of one organization.

    ``canonical_for(hash, words)`` answers the content hash of the earlier text this one repeats
    (exactly or nearly), or "" if it is new — and then remembers it. Memory is bounded: the oldest
    entries are evicted first. Exact repeats of older, evicted texts are still caught by the
    database's content-hash index.
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self._lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
        self._order: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._order)

    def canonical_for(self, key: str, words: str) -> str:
        if key in self._order:
            return key
        sig = signature(words)
        if sig is not None:
            similar = self._lsh.query(sig)
            if similar:
                return str(min(similar))  # deterministic choice among near matches
            self._lsh.insert(key, sig)
        self._order[key] = None
        while len(self._order) > self.capacity:
            oldest, _ = self._order.popitem(last=False)
            if oldest in self._lsh.keys:
                self._lsh.remove(oldest)
        return ""

    def warm(self, texts: Iterable[str]) -> None:
        """Load earlier texts (e.g. the organization's recent mentions) after a restart."""
        for text in texts:
            words = canonical_words(text)
            self.canonical_for(hashlib.sha256(words.encode("utf-8")).hexdigest(), words)
