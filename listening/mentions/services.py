"""Writes of the mentions app that keep denormalised copies in step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db.models import OuterRef, Subquery

from listening.mentions.models import BrandMention, Mention


def do_copy_sentiment_to_links(mention_ids: Sequence[int]) -> int:
    """Copy ``Mention.sentiment`` onto the brand links of these mentions; returns links changed.

    Call it in the transaction that wrote the mentions' sentiment (enrichment does), so a brand's
    mention list filtered by sentiment never disagrees with the mentions it shows. One statement
    whatever the number of mentions; links already equal are not rewritten.
    """
    if not mention_ids:
        return 0
    current = Subquery(Mention.objects.filter(pk=OuterRef("mention_id")).values("sentiment")[:1])
    return (
        BrandMention.objects.filter(mention_id__in=list(mention_ids))
        .exclude(sentiment=current)
        .update(sentiment=current)
    )


def do_set_link_sentiments(by_sentiment: Mapping[str, Sequence[int]]) -> int:
    """Set the brand links of each sentiment's mentions to it; returns links changed.

    What :func:`do_copy_sentiment_to_links` does when the caller already knows the sentiments it
    just wrote (enrichment does): one plain UPDATE per sentiment instead of a correlated subquery
    per link. Same contract: call it in the transaction that wrote the mentions' sentiment; links
    already equal are not rewritten.
    """
    return sum(
        BrandMention.objects.filter(mention_id__in=list(ids))
        .exclude(sentiment=sentiment)
        .update(sentiment=sentiment)
        for sentiment, ids in by_sentiment.items()
        if ids
    )
