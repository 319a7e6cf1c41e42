"""Exact and near-duplicate detection.

Exact: a SHA-256 of the text reduced to its words (case, URLs, handles, "RT @x:" prefixes and
punctuation removed), stored on each mention and indexed. Near: MinHash over word 3-shingles with
LSH banding, so retweets with a comment, copy-paste campaigns with small edits and quote-tweets
collapse onto one canonical mention.

Signatures are datasketch MinHashes (scheme "affine32", ``NUM_PERM`` permutations, seed ``SEED``):
``signature_batch`` computes a whole batch in a few numpy operations and gives exactly the values of
``datasketch.MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=shingle_hash).update_batch(...)`` (a
test holds it to that): ~10 µs per tweet against ~150 µs for one MinHash per text (CPU time,
measured on the benchmark's documents). They are stored as ``NUM_PERM`` little-endian
uint32 (``signature_to_bytes``), so the database can keep them and an index can be rebuilt from
them after a restart without re-reading texts.

The band table is ours rather than ``datasketch.MinHashLSH``: with the same band/row split (chosen
by datasketch's own optimiser for ``THRESHOLD``), query + insert cost ~26-33 µs per text there
against ~11-14 µs here, because band keys are hashed for the whole batch at once. Candidates are
then verified on the estimated Jaccard similarity, which LSH alone does not do. Not thread-safe:
one index per organization per worker process.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import cast

import numpy as np
from datasketch import LeanMinHash, MinHash
from datasketch.hashfunc import sha1_hash32
from datasketch.lsh import _optimal_param
from numpy.typing import NDArray

NUM_PERM = 128
SEED = 1
THRESHOLD = 0.85
SHINGLE = 3
# Texts with fewer shingles than this get no signature: too short to call anything a near-duplicate.
MIN_SHINGLES = 2
SIGNATURE_BYTES = NUM_PERM * 4

_RT = re.compile(r"^\s*(?:RT|MT)\s+@\w+:?\s*", re.I)
_STRIP = re.compile(r"https?://\S+|www\.\S+|@\w+|[^\w\s#]")
_SPACE = re.compile(r"\s+")

_U32 = np.uint64(0xFFFFFFFF)
# Odd multipliers that fold three word hashes into one shingle hash (fixed: stored signatures
# depend on them).
_K = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9))
_FMIX64 = (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))
_PERM_A, _PERM_B = (p.astype(np.uint32) for p in MinHash(num_perm=NUM_PERM, seed=SEED).permutations)
_EMPTY = np.uint32(0xFFFFFFFF)


def canonical_words(text: str) -> str:
    """The words of ``text`` that make it the same content: lower-case, no URLs, handles,
    punctuation or retweet prefix."""
    text = _RT.sub("", text)
    return _SPACE.sub(" ", _STRIP.sub(" ", text.lower())).strip()


def content_hash(text: str) -> str:
    """Hex SHA-256 of ``canonical_words(text)``: equal for exact duplicates (and plain retweets)."""
    return hashlib.sha256(canonical_words(text).encode("utf-8")).hexdigest()


def shingles(words: str) -> list[bytes]:
    """Word 3-shingles of canonical words (the whole text as one shingle when shorter)."""
    tokens = words.split()
    if len(tokens) < SHINGLE:
        return [" ".join(tokens).encode("utf-8")] if tokens else []
    return [" ".join(tokens[i : i + SHINGLE]).encode("utf-8") for i in range(len(tokens) - SHINGLE + 1)]


# --- hashing ------------------------------------------------------------------------------------
_word_hashes: dict[str, int] = {}
_WORD_CACHE_MAX = 500_000


def _word_hash(word: str) -> int:
    value = _word_hashes.get(word)
    if value is None:
        if len(_word_hashes) >= _WORD_CACHE_MAX:
            _word_hashes.clear()
        value = sha1_hash32(word.encode("utf-8"))
        _word_hashes[word] = value
    return value


def _fold(h0: np.ndarray, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
    """Three uint64 word hashes → one 32-bit shingle hash (as uint64), element-wise."""
    with np.errstate(over="ignore"):
        x = cast("NDArray[np.uint64]", h0 * _K[0] + h1 * _K[1] + h2 * _K[2])
        x ^= x >> _FMIX64[0]
        x *= _FMIX64[1]
        x ^= x >> _FMIX64[0]
        x *= _FMIX64[2]
        x ^= x >> _FMIX64[0]
    return x & _U32


def shingle_hash(shingle: bytes) -> int:
    """The 32-bit hash of one ``SHINGLE``-word shingle as ``signature_batch`` computes it, usable as
    a datasketch ``hashfunc``."""
    words = shingle.decode("utf-8").split(" ")
    if len(words) != SHINGLE:
        raise ValueError(f"a shingle has {SHINGLE} words")
    h0, h1, h2 = (np.array([_word_hash(word)], dtype=np.uint64) for word in words)
    return int(_fold(h0, h1, h2)[0])


def signature_batch(word_lists: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signatures of many canonical-word strings at once.

    Returns ``(signatures, has_signature)``: a ``(len(word_lists), NUM_PERM)`` uint32 array and a
    bool mask; rows of texts with fewer than ``MIN_SHINGLES`` shingles are all-``0xFFFFFFFF`` and
    masked False."""
    count = len(word_lists)
    signatures = np.full((count, NUM_PERM), _EMPTY, dtype=np.uint32)
    has_signature = np.zeros(count, dtype=bool)
    all_tokens: list[str] = []
    starts: list[int] = []  # per kept text: index of its first word in the flat arrays
    lengths: list[int] = []  # per kept text: its number of words
    rows: list[int] = []
    for row, words in enumerate(word_lists):
        tokens = words.split()
        if len(tokens) - SHINGLE + 1 < MIN_SHINGLES:
            continue
        rows.append(row)
        starts.append(len(all_tokens))
        lengths.append(len(tokens))
        all_tokens.extend(tokens)
    if not rows:
        return signatures, has_signature
    # Cached word hashes at C speed; only unseen words pay for SHA-1.
    word_hashes = list(map(_word_hashes.get, all_tokens))
    for position, value in enumerate(word_hashes):
        if value is None:
            word_hashes[position] = _word_hash(all_tokens[position])
    flat = np.array(word_hashes, dtype=np.uint64)
    # Shingle i of a text covers words i..i+2; valid starts stop SHINGLE-1 words before its end.
    starts_arr = np.array(starts, dtype=np.int64)
    shingle_counts = np.array(lengths, dtype=np.int64) - (SHINGLE - 1)
    offsets = np.repeat(starts_arr - np.concatenate(([0], np.cumsum(shingle_counts)[:-1])), shingle_counts)
    first = np.arange(int(shingle_counts.sum()), dtype=np.int64) + offsets
    hashed = _fold(flat[first], flat[first + 1], flat[first + 2]).astype(np.uint32)
    # datasketch "affine32": MurmurHash3 fmix32 pre-mix, then a*h + b mod 2^32 per permutation.
    s1, m1, s2, m2 = _FMIX32
    with np.errstate(over="ignore"):
        hashed ^= hashed >> s1
        hashed *= m1
        hashed ^= hashed >> s2
        hashed *= m2
        hashed ^= hashed >> s1
        # (NUM_PERM, shingles): reducing along the contiguous axis is ~2x faster than the transpose.
        permuted = _PERM_A[:, None] * hashed[None, :] + _PERM_B[:, None]
    boundaries = np.concatenate(([0], np.cumsum(shingle_counts)[:-1]))
    signatures[rows] = np.minimum.reduceat(permuted, boundaries, axis=1).T
    has_signature[rows] = True
    return signatures, has_signature


def signature(words: str) -> LeanMinHash | None:
    """The MinHash of one canonical-word string as a datasketch ``LeanMinHash`` (None if too short)."""
    signatures, has_signature = signature_batch([words])
    if not has_signature[0]:
        return None
    return LeanMinHash(seed=SEED, hashvalues=signatures[0], scheme="affine32")


def signature_to_bytes(values: np.ndarray) -> bytes:
    """``NUM_PERM`` little-endian uint32: the stored form of a signature (rows of a 2-D array
    are concatenated)."""
    return np.ascontiguousarray(values, dtype="<u4").tobytes()


def signature_from_bytes(data: bytes) -> np.ndarray:
    if len(data) != SIGNATURE_BYTES:
        raise ValueError(f"a signature is {SIGNATURE_BYTES} bytes, got {len(data)}")
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


# --- the index ----------------------------------------------------------------------------------
# Bands tuned for recall (a missed duplicate inflates volume); candidates are then confirmed against
# their stored signature, which removes the extra false positives.
BANDS, ROWS = _optimal_param(THRESHOLD, NUM_PERM, 0.1, 0.9)
# Random odd multipliers that reduce one band (ROWS uint32) to a 64-bit key.
_BAND_KEYS = np.random.RandomState(SEED).randint(0, 1 << 62, size=(BANDS, ROWS), dtype=np.uint64) * 2 + 1


def band_keys(signatures: np.ndarray) -> np.ndarray:
    """``(n, BANDS)`` uint64 band keys of ``(n, NUM_PERM)`` signatures."""
    bands = signatures[:, : BANDS * ROWS].astype(np.uint64).reshape(len(signatures), BANDS, ROWS)
    with np.errstate(over="ignore"):
        return (bands * _BAND_KEYS[None, :, :]).sum(axis=2, dtype=np.uint64)


class DedupIndex:
    """Remembers the most recent ``capacity`` distinct texts of one organization, across batches.

    ``check_batch(keys, words)`` answers, per text, the key of the earlier text it repeats exactly
    (same key) or nearly (estimated Jaccard ≥ ``threshold``), or "" if it is new — and then
    remembers it, so later texts of the same batch see it too. Keys are the callers' (normally
    ``content_hash``). Memory is bounded: the oldest entries are evicted first; exact repeats of
    evicted texts are still caught by the database's content-hash index.

    After a restart, ``add(key, signature_bytes)`` rebuilds the index from stored signatures.
    """

    def __init__(self, capacity: int = 50_000, threshold: float = THRESHOLD) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.threshold = threshold
        self._min_equal = int(np.ceil(threshold * NUM_PERM))
        # Band key → the key remembered under it, or a list of keys when several share the band.
        # Most buckets hold one key: kept as a bare string (and band keys as tuples) so that an
        # index of 50,000 texts is not 600,000 lists for the garbage collector to walk over again
        # and again (that walk cost more than the MinHash itself).
        self._tables: list[dict[int, str | list[str]]] = [{} for _ in range(BANDS)]
        # key → (arrival number, signature or None, band keys or None), oldest first.
        self._entries: OrderedDict[str, tuple[int, np.ndarray | None, tuple[int, ...] | None]] = OrderedDict()
        self._arrivals = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def signature_of(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        return None if entry is None or entry[1] is None else signature_to_bytes(entry[1])

    def _near(self, values: np.ndarray, bands: Sequence[int]) -> str:
        seen: set[str] = set()
        best, best_arrival = "", -1
        for table, band in zip(self._tables, bands, strict=True):
            bucket = table.get(band)
            if bucket is None:
                continue
            for candidate in (bucket,) if isinstance(bucket, str) else bucket:
                if candidate in seen:
                    continue
                seen.add(candidate)
                arrival, stored, _ = self._entries[candidate]
                # The oldest near match is the canonical: stable whatever arrives later.
                if (
                    stored is not None
                    and int(np.count_nonzero(stored == values)) >= self._min_equal
                    and (not best or arrival < best_arrival)
                ):
                    best, best_arrival = candidate, arrival
        return best

    def _remember(self, key: str, values: np.ndarray | None, bands: tuple[int, ...] | None) -> None:
        self._entries[key] = (self._arrivals, values, bands)
        self._arrivals += 1
        if bands is not None:
            for table, band in zip(self._tables, bands, strict=True):
                bucket = table.get(band)
                if bucket is None:
                    table[band] = key
                elif isinstance(bucket, str):
                    table[band] = [bucket, key]
                else:
                    bucket.append(key)
        while len(self._entries) > self.capacity:
            oldest, (_, _, old_bands) = self._entries.popitem(last=False)
            if old_bands is not None:
                for table, band in zip(self._tables, old_bands, strict=True):
                    bucket = table.get(band)
                    if bucket is None:
                        continue
                    if isinstance(bucket, str):
                        if bucket == oldest:
                            del table[band]
                        continue
                    bucket.remove(oldest)
                    if len(bucket) == 1:
                        table[band] = bucket[0]

    def check_signatures(
        self, keys: Sequence[str], signatures: np.ndarray, has_signature: np.ndarray
    ) -> list[str]:
        """Like ``check_batch`` for signatures already computed by ``signature_batch``."""
        bands_all = band_keys(signatures).tolist()
        present = has_signature.tolist()  # Python bools: indexing numpy per row costs more
        out: list[str] = []
        for row, key in enumerate(keys):
            if key in self._entries:
                out.append(key)
                continue
            if not present[row]:
                self._remember(key, None, None)
                out.append("")
                continue
            values = signatures[row]
            bands = bands_all[row]
            canonical = self._near(values, bands)
            if canonical:
                out.append(canonical)
                continue
            self._remember(key, values.copy(), tuple(bands))
            out.append("")
        return out

    def check_batch(self, keys: Sequence[str], words: Sequence[str]) -> list[str]:
        """Canonical key per text ("" when new); ``words`` are ``canonical_words`` of each text."""
        signatures, has_signature = signature_batch(words)
        return self.check_signatures(keys, signatures, has_signature)

    def canonical_for(self, key: str, words: str) -> str:
        """One text: the canonical key it repeats, or "" if it is new (and now remembered)."""
        return self.check_batch([key], [words])[0]

    def add(self, key: str, signature_bytes: bytes | None) -> None:
        """Remember a stored canonical text by its key and stored signature (None: exact only)."""
        if key in self._entries:
            return
        if signature_bytes is None:
            self._remember(key, None, None)
            return
        values = signature_from_bytes(signature_bytes)
        self._remember(key, values, tuple(band_keys(values[None, :]).tolist()[0]))

    def dump(self) -> list[tuple[str, bytes | None]]:
        """(key, signature bytes or None) per remembered text, oldest first: ``add`` them back to
        restore the index."""
        return [
            (key, None if values is None else signature_to_bytes(values))
            for key, (_, values, _) in self._entries.items()
        ]

    def warm(self, texts: Iterable[str]) -> None:
        """Load earlier texts (e.g. the organization's recent mentions) when no signatures are stored."""
        words = [canonical_words(text) for text in texts]
        self.check_batch([hashlib.sha256(w.encode("utf-8")).hexdigest() for w in words], words)
