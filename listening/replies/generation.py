"""Drafting reply suggestions for a mention. Runs in ``generate`` workers only: it loads the decoder
LLM and the encoder (torch), never the web process.

The prompt holds the brand's guidelines, the thread so far and the organization's most similar past
resolved exchanges, retrieved by embedding (the encoder's ``Enrichment.embedding`` where the pair's
customer message was read by the active version, embedded on the spot otherwise). Candidates are
sampled, passed through the guard rails, ranked by the decoder's own log-likelihood and stored with
the model version and the retrieved pairs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import structlog
from django.conf import settings

from listening.learning.registry import get_active_version
from listening.mentions.enrichment import load_version
from listening.mentions.models import Enrichment, Mention
from listening.replies.models import ReplyPair, ReplySuggestion, SuggestionOrigin
from listening.replies.queries import guidelines_for, mention_brand_id, mention_thread, retrieval_pool
from listening.replies.registry import active_reply_model, decoder_for
from models.generation.guards import HANDLE, Checked, check_reply, known_words, urls_in
from models.generation.prompt import Example, Guidelines, ReplyRequest, Turn, build_messages

log = structlog.get_logger(__name__)


class ReplyError(ValueError):
    """A suggestion request that cannot be answered (the message says why): a 4xx, never a retry."""


def _vectors(pairs: Sequence[ReplyPair], version_id: int) -> np.ndarray:
    """One L2-normalised embedding per pair's customer message."""
    stored = dict(
        Enrichment.objects.filter(
            mention_id__in=[pair.customer_mention_id for pair in pairs], model_version_id=version_id
        ).values_list("mention_id", "embedding")
    )
    vectors: list[np.ndarray | None] = []
    missing: list[int] = []
    for i, pair in enumerate(pairs):
        blob = stored.get(pair.customer_mention_id)
        if blob:
            vectors.append(np.frombuffer(bytes(blob), dtype="<f4"))
        else:
            vectors.append(None)
            missing.append(i)
    if missing:
        version = get_active_version(pairs[0].organization_id)
        fresh = load_version(version).predict([pairs[i].customer_text for i in missing]).embedding
        for slot, vector in zip(missing, fresh, strict=True):
            vectors[slot] = vector
    return np.stack([v for v in vectors if v is not None]).astype(np.float32)


def retrieve(mention: Mention, query: str, pool: Sequence[ReplyPair], k: int) -> list[ReplyPair]:
    """The ``k`` pairs of ``pool`` whose customer message is nearest ``query`` (cosine)."""
    return [pair for pair, _ in retrieve_scored(mention, query, pool, k)]


def retrieve_scored(
    mention: Mention, query: str, pool: Sequence[ReplyPair], k: int
) -> list[tuple[ReplyPair, float]]:
    """:func:`retrieve` with each pair's cosine to ``query``, nearest first."""
    if k <= 0 or not pool:
        return []
    version = get_active_version(mention.organization_id)
    own = (
        Enrichment.objects.filter(mention=mention, model_version=version)
        .values_list("embedding", flat=True)
        .first()
    )
    if own and len(query) and query == (mention.clean_text or mention.text):
        vector = np.frombuffer(bytes(own), dtype="<f4")
    else:
        vector = load_version(version).predict([query]).embedding[0]
    similarity = _vectors(pool, version.pk) @ vector
    order = np.argsort(-similarity, kind="stable")[:k]
    return [(pool[int(i)], float(similarity[i])) for i in order]


def prompt_inputs(guidelines: Guidelines, turns: Sequence[Turn]) -> dict[str, Any]:
    """What a suggestion's prompt was built from besides its retrieved pairs (stored with it)."""
    return {
        "thread": [{"role": turn.role, "text": turn.text} for turn in turns],
        "guidelines": {
            "brand": guidelines.brand,
            "text": guidelines.text,
            "sign_off": guidelines.sign_off,
            "refusals": list(guidelines.refusals),
        },
    }


def do_suggest_replies(mention_id: int, n: int, thread: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """Draft, check, rank and store ``n`` suggestions for a mention; returns the served payload.

    ``thread`` (``[{"role", "text"}]``, oldest first) replaces the stored thread when given (a
    conversation the caller holds that is not stored yet). Raises ReplyError when there is nothing
    to answer.
    """
    from models.settings import ModelSettings

    mention = Mention.objects.select_related("organization").filter(pk=mention_id).first()
    if mention is None:
        raise ReplyError(f"mention {mention_id} no longer exists")
    turns = [Turn(t["role"], t["text"]) for t in thread] if thread else mention_thread(mention)
    if not turns or turns[-1].role == "agent":
        raise ReplyError("The thread has no customer message to answer.")
    brand_id = mention_brand_id(mention)
    guidelines = guidelines_for(mention, brand_id)
    pool = retrieval_pool(mention.organization_id, exclude_mention=mention.pk)
    k = int(settings.REPLIES_EXAMPLES)
    nearest = retrieve_scored(mention, turns[-1].text, pool, max(k, 1))
    examples = [pair for pair, _ in nearest[:k]]
    brand_pool = [pair for pair in pool if _speaks_for(pair, brand_id)]
    allowed = urls_in(pair.agent_text for pair in brand_pool)
    handles = {h.lower() for turn in turns for h in HANDLE.findall(turn.text)}
    if mention.author_handle:
        handles.add("@" + mention.author_handle.lower())
    known = known_words(
        [turn.text for turn in turns]
        + [mention.author_name, mention.author_handle, guidelines.brand, guidelines.text, guidelines.sign_off]
    )

    request = ReplyRequest(
        guidelines=guidelines,
        thread=tuple(turns),
        examples=tuple(Example(p.customer_text, p.agent_text, p.pk) for p in examples),
    )
    messages = build_messages(request)
    # The organization's active reply model, looked up per request: a promotion or rollback is
    # served from the next request on (each model is loaded once per worker process).
    reply_model = active_reply_model(mention.organization_id)
    decoder = decoder_for(reply_model)
    model_settings = ModelSettings.from_env()
    drafts = decoder.sample(
        messages, max(n + 2, 2 * n), max_new_tokens=model_settings.reply_max_new_tokens, seed=mention.pk
    )

    def guarded(text: str) -> Checked:
        return check_reply(
            text,
            allowed_urls=allowed,
            thread_handles=handles,
            refusals=guidelines.refusals,
            known=known,
            max_chars=int(settings.REPLIES_MAX_CHARS),
        )

    past = _past_reply(nearest, brand_id, guarded)
    kept: list[str] = []
    dropped: list[dict[str, Any]] = []
    for draft in drafts:
        checked = guarded(draft)
        if checked.text is None:
            dropped.append({"text": draft, "why": list(checked.notes)})
        elif checked.text not in kept and (past is None or checked.text != past[1]):
            kept.append(checked.text)
    candidates = kept + ([past[1]] if past else [])
    scores = decoder.score(messages, candidates) if candidates else []
    # (text, score, the past pair or None): the past reply first, then the drafts by score.
    ranked: list[tuple[str, float, ReplyPair | None]] = [(past[1], scores[-1], past[0])] if past else []
    drafted = sorted(zip(kept, scores[: len(kept)], strict=True), key=lambda pair: -pair[1])
    ranked = (ranked + [(text, score, None) for text, score in drafted])[:n]
    request_id = uuid.uuid4().hex
    retrieved = [p.pk for p in examples]
    inputs = prompt_inputs(guidelines, turns)
    rows = ReplySuggestion.objects.bulk_create(
        ReplySuggestion(
            organization_id=mention.organization_id,
            mention=mention,
            request_id=request_id,
            rank=rank,
            text=text,
            score=score,
            origin=SuggestionOrigin.DRAFT if pair is None else SuggestionOrigin.PAST_REPLY,
            past_pair=pair,
            model_version=decoder.version,
            reply_model=reply_model,
            retrieved_pairs=retrieved,
            dropped=dropped if rank == 1 else [],
            prompt_inputs=inputs,
        )
        for rank, (text, score, pair) in enumerate(ranked, start=1)
    )
    log.info("replies_suggested", mention=mention.pk, kept=len(ranked), dropped=len(dropped))
    return {
        "mention": mention.pk,
        "request_id": request_id,
        "model_version": decoder.version,
        "reply_model": reply_model.pk,
        "retrieved_pairs": retrieved,
        "dropped": len(dropped),
        "suggestions": [
            {
                "id": row.pk,
                "rank": row.rank,
                "text": row.text,
                "score": round(row.score, 4),
                "origin": row.origin,
                "past_pair": row.past_pair_id,
            }
            for row in rows
        ],
    }


def _speaks_for(pair: ReplyPair, brand_id: int | None) -> bool:
    """Whether ``pair``'s agent spoke for the brand answered (a pair of no brand speaks for any;
    a mention of no brand takes any pair): whose URLs and past replies a suggestion may reuse."""
    return brand_id is None or pair.brand_id in (None, brand_id)


def _past_reply(
    nearest: Sequence[tuple[ReplyPair, float]],
    brand_id: int | None,
    guarded: Callable[[str], Checked],
) -> tuple[ReplyPair, str] | None:
    """The brand's own past reply to the nearest exchange, when its customer message is at least
    ``REPLIES_PAST_REPLY_MIN_SIMILARITY`` close to the one answered, through the same guard rails as
    a draft (names and handles of that other conversation go; redacted data drops it): what a
    help-desk macro is, picked by meaning. None when no past exchange is that close."""
    threshold = float(settings.REPLIES_PAST_REPLY_MIN_SIMILARITY)
    for pair, similarity in nearest:
        if similarity < threshold:
            return None
        if not _speaks_for(pair, brand_id):
            continue  # another brand's voice
        checked = guarded(pair.agent_text)
        if checked.text is not None:
            return pair, checked.text
    return None
