"""The cleaning pipeline over one batch: raw mentions in, one ``CleanResult`` per item out. Pure.

Order: display text (Unicode repair, markup, invisible characters, whitespace) → size checks →
PII redaction (support transcripts also lose greeting/sign-off names) → model text (URL and handle
placeholders) → language → exact and near duplicates → spam/bot score (copies across authors are
judged on the duplicate groups) → optional query matching. An item that cannot be cleaned gets a
``rejected_reason`` for the quarantine; the rest of the batch goes on.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingestion.cleaning.dedup import (
    SIGNATURE_BYTES,
    DedupIndex,
    canonical_words,
    signature_batch,
    signature_to_bytes,
)
from ingestion.cleaning.language import UNDETERMINED, detect_languages
from ingestion.cleaning.normalise import model_text as normalise_for_model
from ingestion.cleaning.pii import redact
from ingestion.cleaning.spam import score_batch
from ingestion.cleaning.text import clean_display_text
from ingestion.query import QueryIndex, TextIndex

# Longest text accepted, in characters, checked before any cleaning. Tweets are 280, reviews a few
# thousand, long support transcripts stay under this; anything larger is quarantined, not cut.
MAX_TEXT_CHARS = 20_000
KINDS = frozenset(("post", "review", "support"))


@dataclass(frozen=True)
class RawMention:
    """One item as a connector, the push endpoint or an importer hands it over.

    ``kind`` is "post", "review" or "support" (support transcripts also get names redacted);
    ``author`` is any stable author id or handle ("" when unknown); ``language_hint`` a source's
    own ISO 639-1 code (X gives one per tweet)."""

    external_id: str
    text: str
    kind: str = "post"
    author: str = ""
    published_at: datetime | None = None
    language_hint: str | None = None


@dataclass(slots=True)
class CleanResult:
    """What the pipeline made of one item. ``rejected_reason`` non-empty means: quarantine it
    (the other fields are then empty defaults)."""

    index: int  # position in the input batch
    external_id: str
    original_text: str  # as received (a non-string is shown by its repr)
    clean_text: str = ""  # display text, PII redacted: safe for analysts and training
    model_text: str = ""  # clean_text with URLs/handles as "http"/"@user": the model's input
    language: str = UNDETERMINED  # ISO 639-1 or "und"
    language_confidence: float | None = None  # None: from a source hint or the English rule
    bot_score: float = 0.0  # [0, 1]
    bot_reasons: tuple[str, ...] = ()
    content_hash: str = ""  # SHA-256 hex of the canonical words: equal for exact repeats
    is_duplicate: bool = False
    canonical_key: str = ""  # content_hash of the item this one repeats ("" when canonical)
    duplicate_count: int = 1  # canonical items: 1 + the later items of this batch repeating it
    signature: bytes | None = None  # MinHash, dedup.SIGNATURE_BYTES little-endian uint32; None: too short
    redactions: int = 0
    matched: list[Any] = field(default_factory=list)  # keys of the QueryIndex queries it matches
    rejected_reason: str = ""


def _reject_reason(item: object) -> str:
    if not isinstance(item, RawMention):
        return f"not a RawMention but {type(item).__name__}"
    if not isinstance(item.external_id, str) or not item.external_id.strip():
        return "external_id must be a non-empty string"
    if not isinstance(item.text, str):
        return f"text must be a string, not {type(item.text).__name__}"
    if len(item.text) > MAX_TEXT_CHARS:
        return f"text is longer than {MAX_TEXT_CHARS} characters ({len(item.text)})"
    if item.kind not in KINDS:
        return f"kind must be one of {sorted(KINDS)}, not {item.kind!r}"
    if not isinstance(item.author, str):
        return "author must be a string"
    if item.published_at is not None and not isinstance(item.published_at, datetime):
        return "published_at must be a datetime"
    return ""


def _original(item: object) -> tuple[str, str]:
    external_id = getattr(item, "external_id", "")
    text = getattr(item, "text", "")
    return (
        external_id if isinstance(external_id, str) else repr(external_id),
        text if isinstance(text, str) else repr(text)[:1000],
    )


def clean_batch(
    items: Sequence[RawMention],
    *,
    dedup_index: DedupIndex | None = None,
    queries: QueryIndex[Any] | None = None,
) -> list[CleanResult]:
    """Clean one batch; results are in input order, one per item.

    ``dedup_index`` carries duplicates across batches (one per organization); without it only
    repeats within this batch collapse. ``queries`` (brand/competitor/campaign queries) fills
    ``matched``. Per-item problems become ``rejected_reason``; nothing raises for bad items."""
    results: list[CleanResult] = []
    kept: list[tuple[CleanResult, RawMention]] = []
    for index, item in enumerate(items):
        external_id, original = _original(item)
        result = CleanResult(index=index, external_id=external_id, original_text=original)
        results.append(result)
        try:
            reason = _reject_reason(item)
            if not reason:
                display = clean_display_text(item.text)
                if display:
                    redaction = redact(display, names=item.kind == "support")
                    result.clean_text = redaction.text
                    result.redactions = redaction.count
                    result.model_text = normalise_for_model(redaction.text)
                else:
                    reason = "text is empty after cleaning"
        except Exception as error:  # one poisonous item must not cost the batch
            reason = f"cleaning failed: {type(error).__name__}"
        if reason:
            result.rejected_reason = reason
            result.clean_text = result.model_text = ""
            result.redactions = 0
            continue
        kept.append((result, item))
    if not kept:
        return results

    detections = detect_languages([r.model_text for r, _ in kept], [i.language_hint for _, i in kept])
    words = [canonical_words(r.model_text) for r, _ in kept]
    for (result, _), detection, text_words in zip(kept, detections, words, strict=True):
        result.language, result.language_confidence = detection
        result.content_hash = content_hash_of_words(text_words)

    signatures, has_signature = signature_batch(words)
    dedup = dedup_index if dedup_index is not None else DedupIndex()
    # Support tickets are conversations, not broadcasts: two customers writing "my card has not
    # arrived" are two tickets. They keep their hash and signature but never collapse.
    rows = [row for row, (_, item) in enumerate(kept) if item.kind != "support"]
    canonicals = [""] * len(kept)
    if rows:
        found = dedup.check_signatures(
            [kept[row][0].content_hash for row in rows], signatures[rows], has_signature[rows]
        )
        for row, canonical in zip(rows, found, strict=True):
            canonicals[row] = canonical
    canonical_in_batch: dict[str, CleanResult] = {}
    packed = signature_to_bytes(signatures)  # one conversion for the batch, sliced per row
    for row, ((result, _), canonical) in enumerate(zip(kept, canonicals, strict=True)):
        if has_signature[row]:
            result.signature = packed[row * SIGNATURE_BYTES : (row + 1) * SIGNATURE_BYTES]
        if not canonical:
            canonical_in_batch[result.content_hash] = result
            continue
        # An exact (same key) or near repeat of a text seen earlier in this batch or before it.
        result.is_duplicate = True
        result.canonical_key = canonical
        first = canonical_in_batch.get(canonical)
        if first is not None:
            first.duplicate_count += 1

    verdicts = score_batch(
        [r.clean_text for r, _ in kept],
        [i.author for _, i in kept],
        [i.published_at for _, i in kept],
        [r.canonical_key or r.content_hash for r, _ in kept],
    )
    for (result, _), verdict in zip(kept, verdicts, strict=True):
        result.bot_score = verdict.score
        result.bot_reasons = verdict.reasons
    if queries is not None:
        for result, _ in kept:
            result.matched = queries.match(TextIndex(result.clean_text))
    return results


def content_hash_of_words(words: str) -> str:
    """``dedup.content_hash`` for text already reduced by ``canonical_words`` (no second pass)."""
    return hashlib.sha256(words.encode("utf-8")).hexdigest()


def duplicate_counts(results: Sequence[CleanResult]) -> Counter[str]:
    """How many items of a batch collapsed onto each canonical key (for the DB's running count)."""
    return Counter(r.canonical_key for r in results if r.is_duplicate and not r.rejected_reason)


__all__ = [
    "MAX_TEXT_CHARS",
    "CleanResult",
    "RawMention",
    "clean_batch",
    "content_hash_of_words",
    "duplicate_counts",
]
