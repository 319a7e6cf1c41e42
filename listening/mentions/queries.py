"""Reads of the mentions app."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, QuerySet

from listening.brands.models import Brand, Campaign
from listening.mentions.models import BrandMention, CampaignMention, Enrichment

# What a mention list page is ordered by when it pages through a brand's or campaign's links:
# the same order as the mention list itself ((published_at, mention id), newest first).
LINK_ORDERING = ("-published_at", "-mention_id")


def page_links(
    organization_id: int,
    *,
    brand_id: int | None = None,
    campaign_id: int | None = None,
    sentiment: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Any, Any]:
    """The links of one brand (optionally of one sentiment) or one campaign as ``{"mention_id",
    "published_at"}`` rows, to be ordered by ``LINK_ORDERING`` and sliced into a page of mention ids.

    Read from the (subject, [sentiment,] published_at, mention) indexes alone: no mention row is
    touched until the page is known. The subject must belong to ``organization_id`` (an uncorrelated
    EXISTS, which PostgreSQL checks once before the scan), else there are no rows. A campaign's
    links carry no sentiment: ask for a sentiment with ``brand_id`` only.
    """
    if (brand_id is None) == (campaign_id is None):
        raise ValueError("give exactly one of brand_id and campaign_id")
    links: QuerySet[Any]
    if brand_id is not None:
        owned = Brand.objects.filter(pk=brand_id, organization_id=organization_id)
        links = BrandMention.objects.filter(Exists(owned), brand_id=brand_id)
        if sentiment:
            links = links.filter(sentiment=sentiment)
    else:
        assert campaign_id is not None
        if sentiment:
            raise ValueError("campaign links carry no sentiment")
        owned_campaign = Campaign.objects.filter(pk=campaign_id, organization_id=organization_id)
        links = CampaignMention.objects.filter(Exists(owned_campaign), campaign_id=campaign_id)
    if since is not None:
        links = links.filter(published_at__gte=since)
    if until is not None:
        links = links.filter(published_at__lt=until)
    return links.values("mention_id", "published_at")


@dataclass(frozen=True)
class MentionRelations:
    """What a list of mentions shows besides their own columns, loaded for the whole list at once."""

    brands: dict[int, list[int]]  # mention id -> brand ids, in the order they were matched
    campaigns: dict[int, list[int]]
    latest_enrichment: dict[int, Enrichment]  # the newest reading of each mention that has one


def relations_of(mention_ids: Sequence[int]) -> MentionRelations:
    """Brands, campaigns and latest enrichment of these mentions: three statements for any number.

    Plain rows rather than ``prefetch_related``: Django builds a filtered queryset per mention and
    relation to hold prefetched objects, which was more than half the time of a 50-mention page.
    """
    ids = list(mention_ids)
    brands: dict[int, list[int]] = defaultdict(list)
    for mention_id, brand_id in (
        BrandMention.objects.filter(mention_id__in=ids).order_by("id").values_list("mention_id", "brand_id")
    ):
        brands[mention_id].append(brand_id)
    campaigns: dict[int, list[int]] = defaultdict(list)
    for mention_id, campaign_id in (
        CampaignMention.objects.filter(mention_id__in=ids)
        .order_by("id")
        .values_list("mention_id", "campaign_id")
    ):
        campaigns[mention_id].append(campaign_id)
    latest: dict[int, Enrichment] = {}
    for enrichment in Enrichment.objects.filter(mention_id__in=ids).defer("embedding").order_by("-id"):
        latest.setdefault(enrichment.mention_id, enrichment)
    return MentionRelations(dict(brands), dict(campaigns), latest)
