"""The words the analytics app and its readers share: subjects (``Scope``), bucket sizes and floors,
who an author is, net sentiment.

Both the writes (``services``: rollup maintenance, affinity runs) and the reads (``queries``, and
the alerts and reports apps) speak of brands and campaigns through a ``Scope``, count authors by
``author_key`` and align times with the floors below; this module depends on nothing of theirs, so
neither side imports the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from listening.analytics.models import (
    BrandRollup,
    BrandTermDay,
    BrandTermWeek,
    BrandTotals,
    BrandVersionDay,
    CampaignRollup,
    CampaignTermDay,
    CampaignTermWeek,
    CampaignTotals,
    CampaignVersionDay,
)
from listening.brands.models import Brand, Campaign
from listening.mentions.models import BrandMention, CampaignMention

# The bucket sizes and floors live below every app (the learning app's re-read aligns days too).
from listening.periods import DAY, HOUR, WEEK, floor_day, floor_hour, floor_week

__all__ = [
    "DAY",
    "HOUR",
    "WEEK",
    "Scope",
    "author_key",
    "floor_day",
    "floor_hour",
    "floor_week",
    "net_sentiment",
]


@dataclass(frozen=True)
class Scope:
    """Brands or campaigns: the link table and the rollup tables kept for that kind of subject."""

    name: str
    owner: type[models.Model]
    link: type[models.Model]
    fk: str  # the subject's column on the link and rollup tables
    rollup: type[models.Model]
    totals: type[models.Model]
    terms: type[models.Model]
    term_weeks: type[models.Model]
    versions: type[models.Model]  # per-day mention counts by the model version that labelled them


BRAND_SCOPE = Scope(
    "brand",
    Brand,
    BrandMention,
    "brand_id",
    BrandRollup,
    BrandTotals,
    BrandTermDay,
    BrandTermWeek,
    BrandVersionDay,
)
CAMPAIGN_SCOPE = Scope(
    "campaign",
    Campaign,
    CampaignMention,
    "campaign_id",
    CampaignRollup,
    CampaignTotals,
    CampaignTermDay,
    CampaignTermWeek,
    CampaignVersionDay,
)
SCOPES = (BRAND_SCOPE, CAMPAIGN_SCOPE)


def author_key(author_id: str, author_handle: str, mention_id: int) -> str:
    """Who wrote it, for unique-author counts; an unknown author is a distinct one per mention."""
    if author_id:
        return author_id[:255]
    if author_handle:
        return f"@{author_handle.lower()}"[:255]
    return f"mention:{mention_id}"


def net_sentiment(positive: int, negative: int) -> float | None:
    """(pos - neg) / (pos + neg), in [-1, 1]; ``None`` when there is neither."""
    if positive + negative == 0:
        return None
    return round((positive - negative) / (positive + negative), 4)
