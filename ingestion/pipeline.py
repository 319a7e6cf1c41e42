"""The cleaning pipeline over a batch: raw items in, items ready to store (or rejected) out. Pure.

Order: display text (Unicode repair, markup, invisible characters, whitespace) → size checks →
PII redaction (support transcripts also lose names, in every turn) → model text (URL and handle
placeholders) → language → duplicates (exact hash, near-duplicate MinHash) → spam/bot score →
brand and campaign matching. One bad item is rejected with its reason; the batch goes on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingestion.cleaning.dedup import DedupIndex, canonical_words, content_hash
from ingestion.cleaning.language import detect_languages
from ingestion.cleaning.normalise import model_text
from ingestion.cleaning.pii import redact
from ingestion.cleaning.spam import score_batch
from ingestion.cleaning.text import clean_display_text
from ingestion.connectors.base import RawItem
from ingestion.query import Matcher, TextIndex

MIN_TEXT_CHARS = 1


@dataclass
class PreparedMention:
    """A cleaned, matched item ready to store (the output of ``ingestion.pipeline``)."""

    external_id: str
    kind: str
    text: str
    clean_text: str
    model_text: str
    published_at: datetime
    language: str = "und"
    language_confidence: float | None = None
    author_id: str = ""
    author_handle: str = ""
    author_name: str = ""
    url: str = ""
    engagement: dict[str, int] = field(default_factory=dict)
    rating: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    bot_score: float = 0.0
    content_hash: str = ""
    # Set when this item repeats an earlier one (retweet, copy-paste): the canonical's content_hash
    # or external id within the batch; the canonical's duplicate_count goes up by one.
    duplicate_of_hash: str = ""
    brand_ids: list[int] = field(default_factory=list)
    campaign_ids: list[int] = field(default_factory=list)


@dataclass
class Rejected:
    reason: str
    payload: Any


@dataclass(frozen=True)
class Matchers:
    """Compiled queries of one organization: brand id → matcher, campaign id → (matcher, brand id,
    start, end). A campaign matches only within its dates."""

    brands: Mapping[int, Matcher] = field(default_factory=dict)
    campaigns: Mapping[int, tuple[Matcher, datetime, datetime | None]] = field(default_factory=dict)


def _support_turns(extra: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Redact every turn of a support transcript (names included); returns (extra, redactions)."""
    turns = extra.get("turns")
    if not isinstance(turns, list):
        return extra, 0
    total = 0
    cleaned = []
    for turn in turns[:200]:
        if not isinstance(turn, dict) or not isinstance(turn.get("text"), str):
            continue
        redaction = redact(clean_display_text(turn["text"]), names=True)
        total += redaction.count
        cleaned.append({**turn, "text": redaction.text})
    return {**extra, "turns": cleaned}, total


def prepare_batch(
    items: Sequence[RawItem | Rejected],
    *,
    matchers: Matchers,
    dedup: DedupIndex | None,
    max_text_chars: int,
) -> list[PreparedMention | Rejected]:
    out: list[PreparedMention | Rejected | None] = [None] * len(items)
    kept: list[tuple[int, RawItem, str, str, int]] = []  # index, item, display, redacted, redactions
    for index, item in enumerate(items):
        if isinstance(item, Rejected):
            out[index] = item
            continue
        if len(item.text) > max_text_chars:
            out[index] = Rejected(f"text is longer than {max_text_chars} characters", item.raw)
            continue
        display = clean_display_text(item.text)
        if len(display) < MIN_TEXT_CHARS:
            out[index] = Rejected("text is empty after cleaning", item.raw)
            continue
        names = item.kind == "support"
        redaction = redact(display, names=names)
        kept.append((index, item, display, redaction.text, redaction.count))

    model_texts = [model_text(redacted) for _, _, _, redacted, _ in kept]
    languages = detect_languages(model_texts, [item.language for _, item, _, _, _ in kept])
    hashes = [content_hash(text) for text in model_texts]
    verdicts = score_batch(
        [display for _, _, display, _, _ in kept],
        [item.author.id or item.author.handle for _, item, _, _, _ in kept],
        [item.published_at for _, item, _, _, _ in kept],
        hashes,
    )
    for position, (index, item, display, redacted, redactions) in enumerate(kept):
        key = hashes[position]
        canonical = (
            dedup.canonical_for(key, canonical_words(model_texts[position])) if dedup is not None else ""
        )
        text_index = TextIndex(display)
        brand_ids = [brand_id for brand_id, matcher in matchers.brands.items() if matcher(text_index)]
        campaign_ids = [
            campaign_id
            for campaign_id, (matcher, starts_at, ends_at) in matchers.campaigns.items()
            if starts_at <= item.published_at
            and (ends_at is None or item.published_at < ends_at)
            and matcher(text_index)
        ]
        extra, turn_redactions = (
            _support_turns(dict(item.extra)) if item.kind == "support" else (dict(item.extra), 0)
        )
        verdict = verdicts[position]
        if verdict.reasons:
            extra["bot_reasons"] = list(verdict.reasons)
        if redactions + turn_redactions:
            extra["redactions"] = redactions + turn_redactions
        rating = extra.get("rating")
        language, confidence = languages[position]
        out[index] = PreparedMention(
            external_id=item.external_id,
            kind=str(item.kind),
            # What analysts see keeps URLs and handles but never the PII.
            text=redacted,
            clean_text=redacted,
            model_text=model_texts[position],
            published_at=item.published_at,
            language=language,
            language_confidence=confidence,
            author_id=item.author.id,
            author_handle=item.author.handle,
            author_name="" if item.kind == "support" else item.author.name,
            url=item.url,
            engagement=dict(item.engagement),
            rating=rating if isinstance(rating, int) else None,
            extra=extra,
            bot_score=verdict.score,
            content_hash=key,
            duplicate_of_hash=canonical,
            brand_ids=brand_ids,
            campaign_ids=campaign_ids,
        )
    return [item for item in out if item is not None]
