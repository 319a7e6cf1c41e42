"""Reply-training pairs, built incrementally as messages arrive.

Two shapes of conversation give a pair:

- threads (X replies, Reddit comments, pushes with ``in_reply_to``): a mention written by the brand's
  agent (``author_role="agent"``) answering a mention of the same source that is not the agent's;
  the reply may arrive before or after the message it answers, so both sides look for the other;
- transcripts (Zendesk tickets, pushed support transcripts): in ``Mention.extra["turns"]``, each
  public agent turn after customer turns. Private Zendesk comments are internal notes, never replies.

Texts are the redacted ones (``Mention.clean_text`` and the turns that ``ingestion.prepare``
redacted), so no pair holds the PII that ingestion removed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import structlog
from django.db import DatabaseError

from listening.mentions.models import AuthorRole, BrandMention, Mention, SourceKind
from listening.replies.models import PairOrigin, ReplyPair

log = structlog.get_logger(__name__)

# Turns of context kept before the customer's message: enough for a prompt, bounded for storage.
MAX_CONTEXT_TURNS = 6
MAX_PAIR_TEXT_CHARS = 4000

_FIELDS = (
    "id",
    "organization_id",
    "source_id",
    "external_id",
    "kind",
    "clean_text",
    "published_at",
    "conversation_id",
    "in_reply_to",
    "author_role",
    "extra",
)


def _brand_of(mention_ids: Sequence[int]) -> int | None:
    """The first brand either side matched (the customer's message first)."""
    for mention_id in mention_ids:
        brand_id = (
            BrandMention.objects.filter(mention_id=mention_id)
            .order_by("brand_id")
            .values_list("brand_id", flat=True)
            .first()
        )
        if brand_id is not None:
            return int(brand_id)
    return None


def _thread_context(parent: Mention) -> list[dict[str, str]]:
    """The turns above ``parent`` in its thread, oldest first, following ``in_reply_to``."""
    turns: list[dict[str, str]] = []
    current = parent
    while current.in_reply_to and len(turns) < MAX_CONTEXT_TURNS:
        above = (
            Mention.objects.filter(
                organization_id=current.organization_id,
                source_id=current.source_id,
                external_id=current.in_reply_to,
            )
            .only("clean_text", "author_role", "in_reply_to", "organization_id", "source_id")
            .first()
        )
        if above is None:
            break
        turns.append({"role": above.author_role or AuthorRole.CUSTOMER, "text": above.clean_text})
        current = above
    return turns[::-1]


def _thread_pair(customer: Mention, agent: Mention) -> ReplyPair | None:
    if not customer.clean_text.strip() or not agent.clean_text.strip():
        return None
    return ReplyPair(
        organization_id=agent.organization_id,
        source_id=agent.source_id,
        key=f"m:{agent.pk}",
        origin=PairOrigin.THREAD,
        customer_mention_id=customer.pk,
        agent_mention_id=agent.pk,
        brand_id=_brand_of([customer.pk, agent.pk]),
        conversation_id=agent.conversation_id or customer.conversation_id,
        context=_thread_context(customer),
        customer_text=customer.clean_text[:MAX_PAIR_TEXT_CHARS],
        agent_text=agent.clean_text[:MAX_PAIR_TEXT_CHARS],
        replied_at=agent.published_at,
    )


def _turn_time(turn: dict[str, Any], default: datetime) -> datetime:
    value = turn.get("created_at", turn.get("at"))
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return default
        return moment if moment.tzinfo is not None else default
    return default


def transcript_pairs(mention: Mention) -> list[ReplyPair]:
    """One pair per public agent turn that follows customer turns of ``mention``'s transcript."""
    turns = mention.extra.get("turns") if isinstance(mention.extra, dict) else None
    if not isinstance(turns, list):
        return []
    pairs: list[ReplyPair] = []
    history: list[dict[str, str]] = []  # public turns so far
    waiting: list[str] = []  # customer turns since the last agent turn
    brand_id: int | None = None
    for index, turn in enumerate(turns):
        if not isinstance(turn, dict) or turn.get("public", True) is False:
            continue
        text = turn.get("text")
        role = turn.get("role")
        if not isinstance(text, str) or not text.strip():
            continue
        if role == AuthorRole.AGENT and waiting:
            if brand_id is None:
                brand_id = _brand_of([mention.pk])
            context = history[: len(history) - len(waiting)][-MAX_CONTEXT_TURNS:]
            pairs.append(
                ReplyPair(
                    organization_id=mention.organization_id,
                    source_id=mention.source_id,
                    key=f"t:{mention.pk}:{index}",
                    origin=PairOrigin.TRANSCRIPT,
                    customer_mention_id=mention.pk,
                    brand_id=brand_id,
                    conversation_id=mention.conversation_id or str(mention.extra.get("ticket_id", "")),
                    context=context,
                    customer_text="\n\n".join(waiting)[:MAX_PAIR_TEXT_CHARS],
                    agent_text=text.strip()[:MAX_PAIR_TEXT_CHARS],
                    replied_at=_turn_time(turn, mention.published_at),
                )
            )
            waiting = []
        elif role == AuthorRole.CUSTOMER:
            waiting.append(text.strip())
        elif role == AuthorRole.AGENT:
            pass  # an agent turn with nothing to answer (a greeting, a follow-up): context only
        else:
            continue  # unknown author: neither side of a pair
        history.append({"role": str(role), "text": text.strip()})
    return pairs


def pairs_for(mentions: Iterable[Mention]) -> list[ReplyPair]:
    """The pairs that these (newly stored) mentions complete, unsaved. Two queries per source for
    a whole batch, whatever its size; a pair's context then costs one query per turn."""
    pairs: list[ReplyPair] = []
    agents: dict[tuple[int, int], list[Mention]] = defaultdict(list)
    others: dict[tuple[int, int], list[Mention]] = defaultdict(list)
    for mention in mentions:
        if mention.kind == SourceKind.SUPPORT:
            pairs.extend(transcript_pairs(mention))
        where = (mention.organization_id, mention.source_id)
        if mention.author_role == AuthorRole.AGENT:
            if mention.in_reply_to:
                agents[where].append(mention)
        else:
            others[where].append(mention)
    for (org_id, source_id), answers in agents.items():
        parents = {
            parent.external_id: parent
            for parent in Mention.objects.filter(
                organization_id=org_id,
                source_id=source_id,
                external_id__in={answer.in_reply_to for answer in answers},
            )
            .exclude(author_role=AuthorRole.AGENT)
            .only(*_FIELDS)
        }
        for answer in answers:
            parent = parents.get(answer.in_reply_to)
            if parent is not None and (pair := _thread_pair(parent, answer)) is not None:
                pairs.append(pair)
    for (org_id, source_id), asked in others.items():
        # The agent's answer may have been stored first (pages arrive newest first).
        by_id = {mention.external_id: mention for mention in asked}
        for answer in Mention.objects.filter(
            organization_id=org_id,
            source_id=source_id,
            in_reply_to__in=list(by_id),
            author_role=AuthorRole.AGENT,
        ).only(*_FIELDS):
            if (pair := _thread_pair(by_id[answer.in_reply_to], answer)) is not None:
                pairs.append(pair)
    return pairs


def do_record_pairs(mention_ids: Sequence[int]) -> int:
    """Build and store the pairs that the mentions ``mention_ids`` complete; returns how many were
    new. Idempotent (a pair's key is unique per organization), so a re-run or a backfill is safe."""
    if not mention_ids:
        return 0
    mentions = Mention.objects.filter(pk__in=list(mention_ids)).only(*_FIELDS)
    pairs = pairs_for(mentions.iterator(chunk_size=500))
    if not pairs:
        return 0
    # Both sides of one batch's thread find the same pair; a re-run finds stored ones.
    unique = {(pair.organization_id, pair.key): pair for pair in pairs}
    stored = set(
        ReplyPair.objects.filter(
            organization_id__in={org for org, _ in unique}, key__in={key for _, key in unique}
        ).values_list("organization_id", "key")
    )
    new = [pair for where, pair in unique.items() if where not in stored]
    ReplyPair.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)  # a racing batch: no error
    return len(new)


def record_pairs_after_store(mention_ids: Sequence[int]) -> None:
    """:func:`do_record_pairs` for ingestion, after its batch committed: a failure here is logged and
    leaves the stored mentions alone (``manage.py build_reply_pairs`` rebuilds what was missed)."""
    try:
        count = do_record_pairs(mention_ids)
    except DatabaseError as exc:
        log.warning("reply_pairs_failed", mentions=len(mention_ids), error=str(exc))
        return
    if count:
        log.info("reply_pairs_recorded", pairs=count)
