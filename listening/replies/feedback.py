"""Analysts' judgements of reply suggestions, and the preference pairs a cycle learns from. No torch.

An analyst ranks some suggestions of one request (best first), picks one, or sends one, edited or
not (``ReplyFeedback``). What a request teaches is decided from all its judgements together:

- the best text: the latest text sent, else the latest pick, else the top of the latest ranking;
- the worse ones: the lower-ranked suggestions when the best comes from a ranking alone, otherwise
  every other suggestion of the request (an edit also beats the draft it started from).

Each (best, worse) becomes a ``PreferenceExample`` with the prompt rebuilt as it was when the
suggestions were drafted (the stored thread and guidelines, the retrieved pairs by id). Caps follow
the corrections' (``models.training.data.cap_feedback``): per analyst and per cycle, oldest first,
the same customer message with the same best reply counted once; a daily cap per analyst is applied
when the judgement is recorded.

Callers check that the suggestion belongs to the key's organization; these functions check the values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone

from ingestion.cleaning.pii import redact
from listening.learning.errors import LearningError
from listening.mentions.models import Mention
from listening.replies.models import FeedbackAction, ReplyFeedback, ReplyPair, ReplySuggestion
from listening.replies.queries import guidelines_for, mention_brand_id, mention_thread
from listening.tenancy.models import ApiKey
from models.generation.prompt import Example, Guidelines, ReplyRequest, Turn, build_messages
from models.training.data import FeedbackItem, cap_feedback, normalise_text

if TYPE_CHECKING:  # tuning imports torch: the web process records judgements without it
    from models.generation.tuning import PreferenceExample

TRAINED = "trained"


class ReplyFeedbackError(LearningError):
    """A judgement that cannot be recorded as sent (a 400)."""


class FeedbackCapReached(Exception):
    """The analyst has sent ``REPLIES_FEEDBACK_CAP_PER_DAY`` judgements today (a 429)."""

    def __init__(self, cap: int, retry_after: int) -> None:
        super().__init__(
            f"At most {cap} reply judgements per analyst per day; the count starts again at midnight UTC."
        )
        self.retry_after = retry_after


def _day_start(now: datetime) -> datetime:
    utc = now.astimezone(UTC)
    return utc.replace(hour=0, minute=0, second=0, microsecond=0)


def do_record_reply_feedback(
    suggestion: ReplySuggestion,
    key: ApiKey,
    *,
    action: str,
    ranking: Sequence[int] = (),
    text: str = "",
) -> ReplyFeedback:
    """Store an analyst's ``rank``, ``pick`` or ``send`` of ``suggestion``'s request.

    ``rank``: ``ranking`` lists at least two different suggestion ids of the same request, best
    first, ``suggestion`` among them. ``send``: ``text`` is what was actually sent (default: the
    suggestion as drafted); it is PII-redacted before it is kept, as ingested text is.
    """
    if action not in FeedbackAction.values:
        raise ReplyFeedbackError(f"action must be one of {', '.join(FeedbackAction.values)}")
    ranked: list[int] = []
    if action == FeedbackAction.RANK:
        ranked = [int(pk) for pk in ranking]
        if len(ranked) < 2 or len(set(ranked)) != len(ranked):
            raise ReplyFeedbackError("A ranking lists at least two different suggestion ids, best first.")
        if suggestion.pk not in ranked:
            raise ReplyFeedbackError(f"The ranking must include suggestion {suggestion.pk}.")
        together = set(
            ReplySuggestion.objects.filter(
                organization_id=suggestion.organization_id, request_id=suggestion.request_id, pk__in=ranked
            ).values_list("pk", flat=True)
        )
        if strangers := [pk for pk in ranked if pk not in together]:
            raise ReplyFeedbackError(
                f"Not suggestions drafted with {suggestion.pk}: {', '.join(map(str, strangers))}."
            )
    elif ranking:
        raise ReplyFeedbackError("A ranking is only given with action 'rank'.")
    sent = ""
    if action == FeedbackAction.SEND:
        sent = redact(text.strip() or suggestion.text, names=True).text
    elif text.strip():
        raise ReplyFeedbackError("A text is only given with action 'send' (the text actually sent).")

    membership = key.membership
    cap = int(settings.REPLIES_FEEDBACK_CAP_PER_DAY)
    now = timezone.now()
    start = _day_start(now)
    # Not locked: two requests racing at the cap may both pass; the per-cycle caps still hold.
    if ReplyFeedback.objects.filter(author=membership, created_at__gte=start).count() >= cap:
        raise FeedbackCapReached(cap, int((start + timedelta(days=1) - now).total_seconds()) + 1)
    return ReplyFeedback.objects.create(
        organization_id=suggestion.organization_id,
        mention_id=suggestion.mention_id,
        suggestion=suggestion,
        request_id=suggestion.request_id,
        action=action,
        ranking=ranked,
        text=sent,
        author=membership,
        author_name=membership.user.get_username(),
        api_key=key,
    )


@dataclass(frozen=True)
class Judged:
    """What one request teaches: the best text and the worse ones, decided by ``decider``."""

    decider: ReplyFeedback
    chosen: str
    rejected: tuple[str, ...]
    rows: tuple[int, ...]  # every judgement of the request


def judge(rows: Sequence[ReplyFeedback], drafted: Sequence[ReplySuggestion]) -> Judged:
    """Combine the judgements of one request (``rows`` oldest first) over its suggestions."""
    texts = {row.pk: row.text for row in drafted}
    latest = {row.action: row for row in rows}  # the last of each action wins
    lower: list[int] | None = None
    if FeedbackAction.SEND in latest:
        decider = latest[FeedbackAction.SEND]
        chosen = decider.text
    elif FeedbackAction.PICK in latest:
        decider = latest[FeedbackAction.PICK]
        chosen = texts.get(decider.suggestion_id, "")
    else:
        decider = latest[FeedbackAction.RANK]
        chosen = texts.get(decider.ranking[0], "")
        lower = [int(pk) for pk in decider.ranking[1:]]
    candidates = [texts[pk] for pk in lower if pk in texts] if lower is not None else list(texts.values())
    best = normalise_text(chosen)
    rejected = tuple(dict.fromkeys(text for text in candidates if normalise_text(text) != best))
    return Judged(decider, chosen, rejected, tuple(row.pk for row in rows))


def rebuild_messages(suggestion: ReplySuggestion) -> list[dict[str, str]]:
    """The prompt ``suggestion`` was drafted from: its stored thread and guidelines, and the retrieved
    pairs still stored (suggestions drafted before prompt inputs were kept use the mention's thread
    and the brand's current guidelines)."""
    inputs = suggestion.prompt_inputs if isinstance(suggestion.prompt_inputs, dict) else {}
    mention: Mention = suggestion.mention
    if inputs.get("thread"):
        turns = [Turn(str(turn["role"]), str(turn["text"])) for turn in inputs["thread"]]
    else:
        turns = mention_thread(mention)
    stored = inputs.get("guidelines")
    if isinstance(stored, dict) and stored.get("brand"):
        guidelines = Guidelines(
            brand=str(stored["brand"]),
            text=str(stored.get("text", "")),
            sign_off=str(stored.get("sign_off", "")),
            refusals=tuple(str(phrase) for phrase in stored.get("refusals", [])),
        )
    else:
        guidelines = guidelines_for(mention, mention_brand_id(mention))
    ids = [int(pk) for pk in suggestion.retrieved_pairs]
    pairs = ReplyPair.objects.filter(organization_id=suggestion.organization_id, pk__in=ids).in_bulk()
    examples = tuple(Example(pairs[pk].customer_text, pairs[pk].agent_text, pk) for pk in ids if pk in pairs)
    return build_messages(ReplyRequest(guidelines=guidelines, thread=tuple(turns), examples=examples))


@dataclass
class PreferenceBatch:
    """What a cycle takes from the organization's judgements not yet used."""

    examples: list[PreferenceExample] = field(default_factory=list)
    trained: list[int] = field(default_factory=list)  # ReplyFeedback ids behind the examples
    dropped: dict[int, str] = field(default_factory=dict)  # id -> why it teaches nothing
    waiting: list[int] = field(default_factory=list)  # over a per-cycle cap: left for the next cycle


def collect_preferences(organization_id: int) -> PreferenceBatch:
    """The preference pairs of the organization's unused judgements, caps applied (oldest first)."""
    from models.generation.tuning import PreferenceExample

    rows = list(
        ReplyFeedback.objects.filter(organization_id=organization_id, disposition="")
        .select_related("suggestion__mention__organization")
        .order_by("created_at", "id")
    )
    by_request: dict[str, list[ReplyFeedback]] = defaultdict(list)
    for row in rows:
        by_request[row.request_id].append(row)
    drafted: dict[str, list[ReplySuggestion]] = defaultdict(list)
    for suggestion in ReplySuggestion.objects.filter(
        organization_id=organization_id, request_id__in=list(by_request)
    ).order_by("rank", "id"):
        drafted[suggestion.request_id].append(suggestion)

    batch = PreferenceBatch()
    judged: dict[int, Judged] = {}
    items: list[FeedbackItem] = []
    for request_id, group in by_request.items():
        verdict = judge(group, drafted[request_id])
        if not verdict.chosen.strip() or not verdict.rejected:
            for pk in verdict.rows:
                batch.dropped[pk] = "nothing to prefer the best reply over"
            continue
        judged[verdict.decider.pk] = verdict
        inputs = verdict.decider.suggestion.prompt_inputs
        thread = (inputs.get("thread") if isinstance(inputs, dict) else None) or [{}]
        customer = str(thread[-1].get("text", "")) or verdict.decider.suggestion.mention.clean_text
        items.append(
            FeedbackItem(
                key=verdict.decider.pk,
                user=str(verdict.decider.author_id or verdict.decider.author_name),
                text=f"{customer}\n{verdict.chosen}",
                label="",
                task="reply",
            )
        )
    items.sort(key=lambda item: item.key)
    capped = cap_feedback(
        items,
        per_user=int(settings.REPLIES_FEEDBACK_CAP_PER_USER),
        per_cycle=int(settings.REPLIES_FEEDBACK_CAP_PER_CYCLE),
    )
    for item in capped.kept:
        verdict = judged[item.key]
        messages = rebuild_messages(verdict.decider.suggestion)
        batch.examples.extend(PreferenceExample(messages, verdict.chosen, bad) for bad in verdict.rejected)
        batch.trained.extend(verdict.rows)
    for key, reason in capped.dropped.items():
        rows_of = judged[key].rows
        if reason.startswith("over the"):
            batch.waiting.extend(rows_of)
        else:
            batch.dropped.update(dict.fromkeys(rows_of, reason))
    return batch


def preference_examples(organization_id: int) -> list[PreferenceExample]:
    """The preference pairs a reply cycle learns from (chosen = sent, picked or top-ranked;
    rejected = lower-ranked or not chosen), prompts rebuilt as at suggestion time."""
    return collect_preferences(organization_id).examples


def mark_preferences(batch: PreferenceBatch, version: str) -> None:
    """Record on the audit trail what a cycle did: trained into ``version``, or why left out.
    Judgements over a per-cycle cap stay unmarked, for the next cycle."""
    ReplyFeedback.objects.filter(pk__in=batch.trained).update(disposition=TRAINED, used_in=version)
    for reason in set(batch.dropped.values()):
        ids = [pk for pk, why in batch.dropped.items() if why == reason]
        ReplyFeedback.objects.filter(pk__in=ids).update(disposition=reason)
