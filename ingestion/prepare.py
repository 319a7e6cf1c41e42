"""Raw items in, items ready to store (or rejected) out. Pure.

The cleaning itself is ``ingestion.cleaning.clean_batch``; this adds what storage needs: the
source's size limit, brand and campaign matches, redacted support turns, the mention's fields.
One bad item is rejected with its reason; the batch goes on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingestion.cleaning.dedup import DedupIndex
from ingestion.cleaning.pii import redact
from ingestion.cleaning.pipeline import RawMention, clean_batch
from ingestion.cleaning.text import clean_display_text
from ingestion.connectors.base import RawItem
from ingestion.query import QueryIndex, TextIndex


@dataclass
class PreparedMention:
    """A cleaned, matched item ready to store (the output of ``ingestion.prepare``)."""

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
    # Facet and conversation (see Mention): "" when the source has none.
    channel: str = ""
    conversation_id: str = ""
    in_reply_to: str = ""
    author_role: str = ""
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
    """Compiled queries of one organization; a campaign matches only within its dates."""

    brands: QueryIndex = field(default_factory=lambda: QueryIndex({}))
    campaigns: QueryIndex = field(default_factory=lambda: QueryIndex({}))
    campaign_dates: Mapping[int, tuple[datetime, datetime | None]] = field(default_factory=dict)


def _support_turns(extra: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Redact every turn of a support transcript (names included); returns (extra, redactions)."""
    turns = extra.get("turns")
    if not isinstance(turns, list):
        return extra, 0
    total = 0
    cleaned = []
    for turn in turns[:200]:
        # Pushed transcripts say "text", Zendesk comments "body": stored as a redacted "text" alone.
        body = turn.get("text", turn.get("body")) if isinstance(turn, dict) else None
        if not isinstance(body, str):
            continue
        redaction = redact(clean_display_text(body), names=True)
        total += redaction.count
        cleaned.append({**{k: v for k, v in turn.items() if k != "body"}, "text": redaction.text})
    return {**extra, "turns": cleaned}, total


# Connector kinds → the cleaning pipeline's kinds.
# Articles are cleaned as posts: no name redaction (bylines and quoted people are public).
_CLEAN_KIND = {"social": "post", "review": "review", "support": "support", "news": "post"}


def prepare_batch(
    items: Sequence[RawItem | Rejected],
    *,
    matchers: Matchers,
    dedup: DedupIndex | None,
    max_text_chars: int,
) -> list[PreparedMention | Rejected]:
    """``clean_batch`` over the batch, then what storage needs on top: brand and campaign matches
    (campaigns within their dates), redacted support turns, the mention's fields."""
    out: list[PreparedMention | Rejected | None] = [None] * len(items)
    kept: list[tuple[int, RawItem]] = []
    for index, item in enumerate(items):
        if isinstance(item, Rejected):
            out[index] = item
        elif len(item.text) > max_text_chars:
            out[index] = Rejected(f"text is longer than {max_text_chars} characters", item.raw)
        else:
            kept.append((index, item))
    results = clean_batch(
        [
            RawMention(
                external_id=item.external_id,
                text=item.text,
                kind=_CLEAN_KIND[str(item.kind)],
                author=item.author.id or item.author.handle,
                published_at=item.published_at,
                language_hint=item.language,
            )
            for _, item in kept
        ],
        dedup_index=dedup,
    )
    for (index, item), result in zip(kept, results, strict=True):
        if result.rejected_reason:
            out[index] = Rejected(result.rejected_reason, item.raw)
            continue
        text_index = TextIndex(result.clean_text)
        campaign_ids = []
        for campaign_id in matchers.campaigns.match(text_index):
            starts_at, ends_at = matchers.campaign_dates[campaign_id]
            if starts_at <= item.published_at and (ends_at is None or item.published_at < ends_at):
                campaign_ids.append(campaign_id)
        extra, turn_redactions = (
            _support_turns(dict(item.extra)) if item.kind == "support" else (dict(item.extra), 0)
        )
        if result.bot_reasons:
            extra["bot_reasons"] = list(result.bot_reasons)
        if result.redactions + turn_redactions:
            extra["redactions"] = result.redactions + turn_redactions
        rating = extra.get("rating")
        out[index] = PreparedMention(
            external_id=item.external_id,
            kind=str(item.kind),
            # What analysts see keeps URLs and handles but never the PII.
            text=result.clean_text,
            clean_text=result.clean_text,
            model_text=result.model_text,
            published_at=item.published_at,
            language=result.language,
            language_confidence=result.language_confidence,
            author_id=item.author.id,
            author_handle=item.author.handle,
            author_name="" if item.kind == "support" else item.author.name,
            url=item.url,
            engagement=dict(item.engagement),
            rating=rating if isinstance(rating, int) else None,
            extra=extra,
            bot_score=result.bot_score,
            content_hash=result.content_hash,
            channel=item.channel,
            conversation_id=item.conversation_id,
            in_reply_to=item.in_reply_to,
            author_role=item.author_role,
            duplicate_of_hash=result.canonical_key,
            brand_ids=matchers.brands.match(text_index),
            campaign_ids=campaign_ids,
        )
    return [item for item in out if item is not None]
