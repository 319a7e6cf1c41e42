"""Alerting objects for a tenant, made directly through the domain (get-or-create per tenant)."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from django.utils import timezone

from listening.alerts.models import Alert, AlertRule
from listening.analytics.services import do_update_rollups
from listening.mentions.models import BrandMention, Mention, Source
from tests.conftest import Tenant


def rule_of(t: Tenant) -> AlertRule:
    rule = AlertRule.objects.filter(organization=t.org, brand=t.brand).first()
    return rule or AlertRule.objects.create(organization=t.org, brand=t.brand, name=f"{t.org.name} spikes")


def alert_of(t: Tenant) -> Alert:
    rule = rule_of(t)
    alert = Alert.objects.filter(rule=rule).first()
    now = timezone.now()
    return alert or Alert.objects.create(
        organization=t.org,
        rule=rule,
        brand=t.brand,
        metric=rule.metric,
        fired_at=now,
        updated_at=now,
        window_start=now,
        window_end=now,
        status="resolved",
        resolved_at=now,
    )


def seed_mentions(
    t: Tenant, rows: list[tuple[datetime, str, str]], *, prefix: str, source: Source | None = None
) -> list[Mention]:
    """Store mentions of the tenant's brand as ingestion + enrichment would: the Mention with its
    denormalised sentiment, the BrandMention carrying published_at and sentiment, and the rollups
    (which enrichment updates in its transaction). ``rows`` are (published_at, sentiment, text)."""
    source = source or t.source
    mentions = Mention.objects.bulk_create(
        [
            Mention(
                organization=t.org,
                source=source,
                external_id=f"{prefix}-{i}",
                kind=source.kind,
                text=text,
                clean_text=text,
                model_text=text,
                published_at=when,
                sentiment=sentiment,
                enriched_at=when,
            )
            for i, (when, sentiment, text) in enumerate(rows)
        ],
        batch_size=2000,
    )
    BrandMention.objects.bulk_create(
        [
            BrandMention(
                organization=t.org,
                brand=t.brand,
                mention=m,
                published_at=m.published_at,
                sentiment=m.sentiment,
            )
            for m in mentions
        ],
        batch_size=2000,
    )
    do_update_rollups([m.pk for m in mentions])
    return mentions


QUIET_TEXTS = (
    ("positive", "loving the new app update, works great"),
    ("neutral", "picked one up at the store today"),
    ("neutral", "does anyone know the opening hours on sunday"),
    ("positive", "great service at the counter this morning"),
    ("negative", "delivery was a bit late again"),
    ("neutral", "comparing prices before the weekend"),
)


def quiet_history(t: Tenant, end: datetime, *, days: int = 7, seed: int = 7) -> int:
    """A seasonal, quiet history for the tenant's brand: Poisson volume peaking in the afternoon,
    about one mention in six negative. Returns how many mentions were stored."""
    rng = random.Random(seed)
    start = end - timedelta(days=days)
    rows = []
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        rate = 12 + 8 * math.sin((hour.hour - 9) / 24 * 2 * math.pi)
        for _ in range(_poisson(rng, rate)):
            when = hour + timedelta(seconds=rng.randrange(3600))
            if when >= end:
                continue
            sentiment, text = rng.choice(QUIET_TEXTS)
            rows.append((when, sentiment, f"{text} ({t.brand.query})"))
        hour += timedelta(hours=1)
    seed_mentions(t, rows, prefix=f"quiet{seed}")
    return len(rows)


def negative_burst(
    t: Tenant, end: datetime, n: int, *, minutes: int = 30, prefix: str = "burst"
) -> list[Mention]:
    """``n`` negative mentions about a refund problem, spread over the ``minutes`` before ``end``."""
    texts = (
        "refund still not processed after three weeks, terrible",
        "app crashed and charged me twice, want my refund",
        "charged twice again, support ignores the refund request",
    )
    rows = [
        (
            end - timedelta(seconds=(i * minutes * 60) // max(1, n) + 1),
            "negative",
            f"{texts[i % 3]} {t.brand.query}",
        )
        for i in range(n)
    ]
    return seed_mentions(t, rows, prefix=prefix)


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth; lam is small here.
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
