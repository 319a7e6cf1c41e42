"""Share of voice by channel: where (which subreddit, site, app and territory, source kind) the
compared brands are talked about, and each brand's share of each place.

Counted from the brand links (``BrandMention``, which carries ``published_at``) joined to their
mentions, over the comparison's range: one grouped query, whatever the number of brands. It counts
what the rollups count (every stored mention of the brand), so a brand's places sum to its volume.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Literal

from django.db.models import Count

from listening.analytics.answers import ChannelShare
from listening.mentions.models import BrandMention

GroupBy = Literal["channel", "source_kind"]
GROUP_BY_CHOICES: tuple[GroupBy, ...] = ("channel", "source_kind")
MAX_GROUPS = 50  # the busiest places; the rest are summed into "other"


def share_by_channel(
    brand_ids: list[int], start: datetime, end: datetime, *, by: GroupBy = "channel"
) -> list[ChannelShare]:
    """The places of ``[start, end)``, busiest first (at most ``MAX_GROUPS`` and "other")."""
    fields = ["mention__kind", "mention__channel"] if by == "channel" else ["mention__kind"]
    rows = (
        BrandMention.objects.filter(
            brand_id__in=brand_ids,
            published_at__gte=start,
            published_at__lt=end,
        )
        .values("brand_id", *fields)
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        key = (row["mention__kind"], row.get("mention__channel", ""))
        counts[key][row["brand_id"]] += row["n"]
    ranked = sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    head, tail = ranked[:MAX_GROUPS], ranked[MAX_GROUPS:]
    if tail:
        other: dict[int, int] = defaultdict(int)
        for _, per_brand in tail:
            for brand_id, n in per_brand.items():
                other[brand_id] += n
        head.append((("", "other"), other))
    out: list[ChannelShare] = []
    for (kind, channel), per_brand in head:
        total = sum(per_brand.values())
        out.append(
            {
                "kind": kind,
                "channel": channel,
                "total": total,
                "mentions": {str(b): per_brand.get(b, 0) for b in brand_ids},
                "share": {str(b): (per_brand.get(b, 0) / total if total else None) for b in brand_ids},
            }
        )
    return out
