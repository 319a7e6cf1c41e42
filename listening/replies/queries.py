"""Reads for reply suggestions: a mention's thread, its brand's voice, the brand's own URLs. No torch."""

from __future__ import annotations

from collections.abc import Sequence

from listening.mentions.models import AuthorRole, BrandMention, Mention, SourceKind
from listening.replies.models import ReplyGuidelines, ReplyPair
from listening.replies.pairs import MAX_CONTEXT_TURNS
from models.generation.prompt import Guidelines, Turn

# Past pairs considered for retrieval and for the allowed URLs: the organization's most recent.
RETRIEVAL_POOL = 2000


def mention_thread(mention: Mention) -> list[Turn]:
    """What was said up to ``mention``, oldest first, ending with what the reply answers.

    A support transcript: its public turns up to the last customer turn. A thread message: the
    messages above it (``in_reply_to``), then itself. Anything else: the mention alone.
    """
    turns = mention.extra.get("turns") if isinstance(mention.extra, dict) else None
    if mention.kind == SourceKind.SUPPORT and isinstance(turns, list):
        thread = [
            Turn(str(turn.get("role")), turn["text"].strip())
            for turn in turns
            if isinstance(turn, dict)
            and turn.get("public", True) is not False
            and turn.get("role") in (AuthorRole.CUSTOMER, AuthorRole.AGENT)
            and isinstance(turn.get("text"), str)
            and turn["text"].strip()
        ]
        while thread and thread[-1].role != AuthorRole.CUSTOMER:
            thread.pop()
        return thread  # a transcript's own turns, or nothing to answer
    from listening.replies.pairs import _thread_context

    above = [Turn(turn["role"], turn["text"]) for turn in _thread_context(mention)][-MAX_CONTEXT_TURNS:]
    text = mention.clean_text or mention.text
    return [*above, Turn(AuthorRole.CUSTOMER, text)] if text.strip() else above


def mention_brand_id(mention: Mention) -> int | None:
    return (
        BrandMention.objects.filter(mention=mention)
        .order_by("brand_id")
        .values_list("brand_id", flat=True)
        .first()
    )


def guidelines_for(mention: Mention, brand_id: int | None) -> Guidelines:
    """The brand's voice; an organization without one gets the plain rules under its name."""
    if brand_id is not None:
        row = ReplyGuidelines.objects.filter(brand_id=brand_id).select_related("brand").first()
        if row is not None:
            return Guidelines(
                brand=row.brand.name,
                text=row.text,
                sign_off=row.sign_off,
                refusals=tuple(str(phrase) for phrase in row.refusals if str(phrase).strip()),
            )
        name = BrandMention.objects.filter(brand_id=brand_id).values_list("brand__name", flat=True).first()
        if name:
            return Guidelines(brand=str(name))
    return Guidelines(brand=mention.organization.name)


def retrieval_pool(organization_id: int, *, exclude_mention: int | None = None) -> Sequence[ReplyPair]:
    """The organization's own recent pairs, never another tenant's, nor the pairs of the mention
    being answered (its real answer must not be handed to the model)."""
    pairs = ReplyPair.objects.filter(organization_id=organization_id)
    if exclude_mention is not None:
        pairs = pairs.exclude(customer_mention_id=exclude_mention)
    return list(
        pairs.order_by("-replied_at", "-id").only(
            "id", "customer_text", "agent_text", "brand_id", "customer_mention_id"
        )[:RETRIEVAL_POOL]
    )


def new_pairs_count(organization_id: int) -> int:
    """Pairs built since the organization's last successful reply cycle started (all before the first)."""
    from listening.learning.models import CycleStatus, ModelTask, TrainingCycle

    last = (
        TrainingCycle.objects.filter(
            organization_id=organization_id, task=ModelTask.REPLIES, status=CycleStatus.SUCCEEDED
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    pairs = ReplyPair.objects.filter(organization_id=organization_id)
    return (pairs.filter(created_at__gt=last) if last is not None else pairs).count()


def organizations_due_for_reply_training(min_new_pairs: int) -> list[int]:
    """Organizations with no open reply cycle and at least ``min_new_pairs`` new pairs."""
    from listening.learning.models import CycleStatus, ModelTask, TrainingCycle

    busy = set(
        TrainingCycle.objects.filter(
            task=ModelTask.REPLIES, status__in=[CycleStatus.QUEUED, CycleStatus.RUNNING]
        ).values_list("organization_id", flat=True)
    )
    with_pairs = ReplyPair.objects.order_by().values_list("organization_id", flat=True).distinct()
    return [
        organization_id
        for organization_id in sorted(set(with_pairs) - busy)
        if new_pairs_count(organization_id) >= min_new_pairs
    ]
