"""Exact and near-duplicate detection with MinHash signatures."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash

from ingestion.cleaning.dedup import (
    NUM_PERM,
    ROWS,
    SEED,
    SIGNATURE_BYTES,
    DedupIndex,
    canonical_words,
    content_hash,
    shingle_hash,
    shingles,
    signature,
    signature_batch,
    signature_from_bytes,
    signature_to_bytes,
)

ORIGINAL = "Just tried the new Nike Pegasus running shoes and they are the most comfortable pair I own"
RETWEET = f"RT @runnerjoe: {ORIGINAL}"
EDITED = "Just tried the new Nike Pegasus running shoes and they are the most comfortable pair I own!! #ad"
DIFFERENT = "The customer service at this airline was slow and nobody answered the phone for an hour"


def _key(text: str) -> str:
    return content_hash(text)


def test_retweet_and_case_and_urls_hash_the_same():
    assert content_hash(RETWEET) == content_hash(ORIGINAL)
    assert content_hash(ORIGINAL.upper() + " https://t.co/x") == content_hash(ORIGINAL)
    assert content_hash(DIFFERENT) != content_hash(ORIGINAL)


def test_batch_signatures_equal_datasketch_minhash():
    texts = [canonical_words(t) for t in (ORIGINAL, EDITED, DIFFERENT)]
    values, has_signature = signature_batch(texts)
    assert has_signature.all()
    for row, words in enumerate(texts):
        reference = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=shingle_hash)
        reference.update_batch(shingles(words))
        assert np.array_equal(reference.hashvalues, values[row])


def test_signature_estimates_jaccard():
    a, b, c = (signature(canonical_words(t)) for t in (ORIGINAL, EDITED, DIFFERENT))
    assert isinstance(a, LeanMinHash) and b is not None and c is not None
    assert a.jaccard(b) > 0.7
    assert a.jaccard(c) < 0.2


def test_short_texts_get_no_signature():
    values, has_signature = signature_batch(["", "hello", "two words", "three words here"])
    assert not has_signature.any()
    assert (values == 0xFFFFFFFF).all()
    assert signature("too short") is None


def test_signature_bytes_round_trip_and_validation():
    values, _ = signature_batch([canonical_words(ORIGINAL)])
    data = signature_to_bytes(values[0])
    assert len(data) == SIGNATURE_BYTES
    assert np.array_equal(signature_from_bytes(data), values[0])
    with pytest.raises(ValueError):
        signature_from_bytes(b"short")


def test_near_duplicates_collapse_within_a_batch():
    texts = [ORIGINAL, RETWEET, EDITED, DIFFERENT, EDITED]
    index = DedupIndex()
    canonicals = index.check_batch([_key(t) for t in texts], [canonical_words(t) for t in texts])
    assert canonicals == ["", _key(ORIGINAL), _key(ORIGINAL), "", _key(ORIGINAL)]


def test_index_works_across_batches_and_restores_from_signatures():
    first = DedupIndex()
    first.check_batch(
        [_key(ORIGINAL), _key(DIFFERENT)], [canonical_words(ORIGINAL), canonical_words(DIFFERENT)]
    )
    assert first.canonical_for(_key(EDITED), canonical_words(EDITED)) == _key(ORIGINAL)

    restored = DedupIndex()
    for key, data in first.dump():
        restored.add(key, data)
    assert len(restored) == len(first) == 2
    assert restored.canonical_for(_key(EDITED), canonical_words(EDITED)) == _key(ORIGINAL)
    assert restored.canonical_for(_key(RETWEET), canonical_words(RETWEET)) == _key(ORIGINAL)


def test_capacity_evicts_the_oldest():
    index = DedupIndex(capacity=1)
    index.canonical_for(_key(ORIGINAL), canonical_words(ORIGINAL))
    index.canonical_for(_key(DIFFERENT), canonical_words(DIFFERENT))
    assert _key(ORIGINAL) not in index
    assert index.canonical_for(_key(EDITED), canonical_words(EDITED)) == ""
    with pytest.raises(ValueError):
        DedupIndex(capacity=0)


def test_eviction_from_a_band_shared_by_two_texts_keeps_the_other():
    first = np.arange(NUM_PERM, dtype=np.uint32)
    second = first.copy()
    second[ROWS:] += 1000  # the same first band, otherwise far apart: not near duplicates
    third = first + 5000
    index = DedupIndex(capacity=2)
    index.add("first", signature_to_bytes(first))
    index.add("second", signature_to_bytes(second))
    both = index.check_signatures(["a", "b"], np.stack([first, second]), np.array([True, True]))
    assert both == ["first", "second"]
    index.add("third", signature_to_bytes(third))  # evicts "first" from the shared band
    assert "first" not in index and "second" in index
    assert index.check_signatures(["b"], second[None, :], np.array([True])) == ["second"]
    assert index.check_signatures(["a"], first[None, :], np.array([True])) == [""]


def test_copy_paste_campaign_on_real_tweets_collapses(tmp_path):
    base = "Get 20% off all @acme sneakers this weekend only, use code ACME20 at checkout"
    variants = [f"{base} {tail}" for tail in ("", "!!", "#deal", "🔥", "https://t.co/abc")]
    index = DedupIndex()
    canonicals = index.check_batch([_key(v) for v in variants], [canonical_words(v) for v in variants])
    assert canonicals[0] == "" and set(canonicals[1:]) == {_key(variants[0])}
