"""Human feedback: analysts' corrections and pairwise judgements, and imported labelled rows.

Callers check that mentions belong to the key's organization; these functions check the values.
"""

from __future__ import annotations

from typing import Any

from listening.learning.errors import LearningError
from listening.learning.models import Feedback, LabelledExample, Preference
from listening.mentions.models import Mention, Sentiment
from listening.tenancy.models import ApiKey, Organization


def _author(key: ApiKey) -> tuple[Any, str]:
    membership = key.membership
    return membership, membership.user.get_username()


def do_record_feedback(mention: Mention, key: ApiKey, *, sentiment: str = "", intent: str = "") -> Feedback:
    """Store an analyst's correction of ``mention`` (same organization as ``key``, checked by callers).

    At least one of ``sentiment`` / ``intent`` is needed; the mention's text at this moment is kept,
    so later edits of the mention do not change what was corrected.
    """
    if not sentiment and not intent:
        raise LearningError("give a corrected sentiment, an intent, or both")
    if sentiment and sentiment not in Sentiment.values:
        raise LearningError(f"sentiment must be one of {', '.join(Sentiment.values)}")
    membership, name = _author(key)
    return Feedback.objects.create(
        organization_id=mention.organization_id,
        mention=mention,
        author=membership,
        author_name=name,
        api_key=key,
        text=mention.model_text or mention.clean_text or mention.text,
        sentiment=sentiment,
        intent=intent,
        previous_sentiment=mention.sentiment,
    )


def do_record_preference(
    key: ApiKey,
    *,
    kind: str,
    first: Mention,
    second: Mention | None = None,
    first_label: str = "",
    second_label: str = "",
    choice: str,
) -> Preference:
    """Store a pairwise judgement; mentions must belong to ``key``'s organization (checked by callers)."""
    if choice not in ("first", "second"):
        raise LearningError("choice must be 'first' or 'second'")
    if kind == Preference.Kind.MORE_NEGATIVE:
        if second is None or second.pk == first.pk:
            raise LearningError("more_negative needs two different mentions")
        first_label = second_label = ""
    elif kind == Preference.Kind.BETTER_LABEL:
        labels = {first_label, second_label}
        if second is not None or len(labels) != 2 or not labels <= set(Sentiment.values):
            raise LearningError("better_label needs one mention and two different sentiment labels")
    else:
        raise LearningError(f"kind must be one of {', '.join(Preference.Kind.values)}")
    membership, name = _author(key)
    return Preference.objects.create(
        organization_id=first.organization_id,
        kind=kind,
        first=first,
        second=second,
        first_label=first_label,
        second_label=second_label,
        choice=choice,
        author=membership,
        author_name=name,
    )


def do_import_labelled(
    organization: Organization,
    rows: list[tuple[str, str]],
    *,
    task: str = "sentiment",
    origin: str = LabelledExample.Origin.IMPORT,
) -> int:
    """Add (text, label) rows as labelled examples; returns how many were stored."""
    objects = [
        LabelledExample(organization=organization, task=task, text=text, label=label, origin=origin)
        for text, label in rows
        if text.strip() and label.strip()
    ]
    LabelledExample.objects.bulk_create(objects, batch_size=2000)
    return len(objects)
