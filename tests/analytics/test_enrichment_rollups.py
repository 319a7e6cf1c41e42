"""Enrichment keeps the rollups current: the dashboard numbers follow the model's reading."""

from __future__ import annotations

from listening.analytics.models import BrandRollup
from listening.mentions.enrichment import do_enrich_pending
from listening.mentions.models import Mention
from tests.conftest import Tenant


def test_enrichment_updates_the_brand_rollups(alice: Tenant) -> None:
    do_enrich_pending()
    sentiment = Mention.objects.get(pk=alice.mention.pk).sentiment
    rows = BrandRollup.objects.filter(brand=alice.brand, interval="day")
    assert [(row.sentiment, row.mention_count) for row in rows] == [(sentiment, 1)]
    assert sentiment in {"negative", "neutral", "positive"}
