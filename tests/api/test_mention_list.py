"""The mention list: a constant number of statements per page, and the brand/campaign path (page
ids from the link table's index) answering exactly what the mentions table would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from listening.mentions.models import BrandMention, CampaignMention, Mention, Sentiment, SourceKind
from listening.mentions.services import do_copy_sentiment_to_links
from tests.conftest import Tenant

SENTIMENTS = [Sentiment.POSITIVE, Sentiment.NEGATIVE, Sentiment.NEUTRAL, ""]


def _seed(tenant: Tenant, count: int) -> list[Mention]:
    """``count`` mentions of the tenant's brand and campaign; every third pair shares a moment, so
    pages must break ties on the id exactly as the mentions table does."""
    now = timezone.now()
    mentions = Mention.objects.bulk_create(
        Mention(
            organization=tenant.org,
            source=tenant.source,
            external_id=f"list-{i}",
            kind=SourceKind.SOCIAL,
            text=f"post {i}",
            clean_text=f"post {i}",
            sentiment=SENTIMENTS[i % len(SENTIMENTS)],
            language="en" if i % 2 else "fr",
            published_at=now - timedelta(minutes=10 + i - i % 3),
        )
        for i in range(count)
    )
    BrandMention.objects.bulk_create(
        BrandMention(organization=tenant.org, brand=tenant.brand, mention=m, published_at=m.published_at)
        for m in mentions
    )
    CampaignMention.objects.bulk_create(
        CampaignMention(
            organization=tenant.org, campaign=tenant.campaign, mention=m, published_at=m.published_at
        )
        for m in mentions[::2]
    )
    do_copy_sentiment_to_links([m.pk for m in mentions])
    return mentions


def _walk(tenant: Tenant, query: str) -> list[int]:
    client, seen = tenant.client(), []
    url: str | None = f"/api/v1/mentions/?page_size=7&{query}"
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        seen += [row["id"] for row in response.json()["results"]]
        url = response.json()["next"]
    return seen


def _expected(tenant: Tenant, **filters: Any) -> list[int]:
    return list(
        Mention.objects.filter(organization=tenant.org, **filters)
        .order_by("-published_at", "-id")
        .values_list("id", flat=True)
    )


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ("", {}),
        ("brand={brand}", {"brand_mentions__brand": "brand"}),
        ("brand={brand}&sentiment=negative", {"brand_mentions__brand": "brand", "sentiment": "negative"}),
        ("campaign={campaign}", {"campaign_mentions__campaign": "campaign"}),
        ("brand={brand}&language=en", {"brand_mentions__brand": "brand", "language": "en"}),
    ],
)
def test_pages_walk_the_same_rows_in_the_same_order(
    alice: Tenant, query: str, filters: dict[str, Any]
) -> None:
    _seed(alice, 40)
    subjects = {"brand": alice.brand, "campaign": alice.campaign}
    query = query.format(brand=alice.brand.pk, campaign=alice.campaign.pk)
    expected = _expected(alice, **{k: subjects.get(v, v) for k, v in filters.items()})
    assert len(expected) >= 10
    assert _walk(alice, query) == expected


def test_since_and_until_bound_a_brand_page(alice: Tenant) -> None:
    mentions = _seed(alice, 30)
    since, until = mentions[20].published_at, mentions[5].published_at
    bounds = f"since={since.isoformat()}&until={until.isoformat()}".replace("+", "%2B")
    expected = _expected(
        alice, brand_mentions__brand=alice.brand, published_at__gte=since, published_at__lt=until
    )
    assert expected and _walk(alice, f"brand={alice.brand.pk}&{bounds}") == expected


def test_previous_pages_go_back_over_the_same_rows(alice: Tenant) -> None:
    _seed(alice, 30)
    client = alice.client()
    first = client.get(f"/api/v1/mentions/?brand={alice.brand.pk}&page_size=7").json()
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in first["results"]]


def test_another_organizations_brand_lists_nothing(alice: Tenant, bob: Tenant) -> None:
    _seed(alice, 10)
    for query in (f"brand={alice.brand.pk}", f"campaign={alice.campaign.pk}"):
        body = bob.client().get(f"/api/v1/mentions/?{query}").json()
        assert body["results"] == [] and body["next"] is None


def _statements(tenant: Tenant, query: str, page_size: int) -> int:
    client = tenant.client()
    client.get(f"/api/v1/mentions/?page_size=1&{query}")  # warm: anything cached per process
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/api/v1/mentions/?page_size={page_size}&{query}")
    assert response.status_code == 200 and len(response.json()["results"]) > 1
    return len(captured.captured_queries)


@pytest.mark.parametrize(
    "query",
    ["", "sentiment=negative", "brand={brand}", "brand={brand}&sentiment=negative", "campaign={campaign}"],
)
def test_a_page_costs_the_same_statements_whatever_its_size(alice: Tenant, query: str) -> None:
    mentions = _seed(alice, 60)
    # Co-mentions and enrichments make the prefetches non-trivial.
    BrandMention.objects.bulk_create(
        BrandMention(organization=alice.org, brand=alice.competitor, mention=m, published_at=m.published_at)
        for m in mentions[::3]
    )
    query = query.format(brand=alice.brand.pk, campaign=alice.campaign.pk)
    small, large = _statements(alice, query, 2), _statements(alice, query, 30)
    assert small == large
    # Authentication, then: the page's ids (link path) or rows, the rows, one per prefetch.
    assert large <= 7


def test_a_page_shows_each_mentions_brands_campaigns_and_newest_reading(alice: Tenant) -> None:
    from listening.learning.models import ModelVersion
    from listening.mentions.models import Enrichment

    mention = alice.mention
    BrandMention.objects.create(
        organization=alice.org, brand=alice.competitor, mention=mention, published_at=mention.published_at
    )
    for name, sentiment in (("v1", "negative"), ("v2", "positive")):
        version = ModelVersion.objects.create(name=name, backbone="test")
        Enrichment.objects.create(
            organization=alice.org, mention=mention, model_version=version, sentiment=sentiment
        )
    for query in ("", f"brand={alice.brand.pk}", f"campaign={alice.campaign.pk}"):
        (row,) = alice.client().get(f"/api/v1/mentions/?{query}").json()["results"]
        assert row["brands"] == [alice.brand.pk, alice.competitor.pk]
        assert row["campaigns"] == [alice.campaign.pk]
        assert row["enrichment"]["sentiment"] == "positive"
    detail = alice.client().get(f"/api/v1/mentions/{mention.pk}/").json()
    assert detail["enrichment"]["sentiment"] == "positive" and detail["brands"] == row["brands"]


def test_copied_fields_read_as_drf_reads_them(alice: Tenant) -> None:
    """``AsIsFieldsMixin`` copies plain values: its rows must equal DRF's own field-by-field output,
    for nulls, empty strings, JSON, choices, relations, dates and nested readings alike."""
    from rest_framework import serializers

    from api.serializers import EnrichmentSerializer, MentionSerializer
    from listening.learning.models import ModelVersion
    from listening.mentions.models import Enrichment
    from listening.mentions.queries import relations_of

    mentions = _seed(alice, 6)
    first = mentions[0]
    Mention.objects.filter(pk=mentions[1].pk).update(
        canonical=first,
        rating=4,
        bot_score=0.75,
        engagement={"likes": 3, "views": [1, 2]},
        url="https://example.com/p/1",
        author_id="u-9",
        author_handle="someone",
    )
    Mention.objects.filter(pk=mentions[2].pk).update(kind=SourceKind.REVIEW, language="", rating=None)
    version = ModelVersion.objects.create(name="as-is", backbone="test")
    Enrichment.objects.create(
        organization=alice.org,
        mention=first,
        model_version=version,
        sentiment="positive",
        sentiment_probs={"positive": 0.9, "neutral": 0.05, "negative": 0.05},
        emotion="joy",
        irony_prob=0.125,
        intent_prob=None,
    )
    rows = list(Mention.objects.filter(pk__in=[m.pk for m in mentions]).order_by("pk"))
    relations = relations_of([m.pk for m in rows])
    copied = MentionSerializer(rows, many=True, context={"relations": relations}).data
    drf = serializers.ModelSerializer.to_representation
    for row, mention in zip(copied, rows, strict=True):
        expected = drf(MentionSerializer(context={"relations": relations}), mention)
        reading = relations.latest_enrichment.get(mention.pk)
        expected["enrichment"] = None if reading is None else drf(EnrichmentSerializer(), reading)
        assert row == expected
    assert copied[0]["enrichment"]["irony_prob"] == 0.125 and copied[1]["canonical"] == first.pk
