"""A small hand-built fixture with known numbers (see test docstrings for the arithmetic)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from listening.analytics.services import do_update_rollups
from listening.brands.models import Brand, Campaign
from listening.learning.models import ModelVersion
from listening.mentions.models import BrandMention, CampaignMention, Enrichment, Mention, SourceKind
from tests.conftest import Tenant


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Builder:
    tenant: Tenant
    created: list[Mention] = field(default_factory=list)
    counter: int = 0

    def mention(
        self,
        when: str,
        *,
        sentiment: str = "",
        engagement: int = 0,
        author: str = "",
        text: str = "",
        brands: tuple[Brand, ...] = (),
        campaign: Campaign | None = None,
        kind: str = SourceKind.SOCIAL,
        language: str = "en",
        read: bool = True,
    ) -> Mention:
        """A mention linked to ``brands`` (and ``campaign``); ``read`` ones (the default) count in
        the rollups, as a mention does once enrichment has read it."""
        self.counter += 1
        mention = Mention.objects.create(
            organization=self.tenant.org,
            source=self.tenant.source,
            external_id=f"fx-{self.counter}",
            kind=kind,
            text=text,
            clean_text=text,
            language=language,
            author_id=author,
            published_at=at(when),
            engagement_total=engagement,
            sentiment=sentiment,
            enriched_at=at(when) if read else None,
        )
        for brand in brands:
            BrandMention.objects.create(
                organization=self.tenant.org,
                brand=brand,
                mention=mention,
                published_at=mention.published_at,
                sentiment=mention.sentiment,
            )
        if campaign is not None:
            CampaignMention.objects.create(
                organization=self.tenant.org,
                campaign=campaign,
                mention=mention,
                published_at=mention.published_at,
            )
        self.created.append(mention)
        return mention

    def roll_up(self) -> None:
        do_update_rollups([m.pk for m in self.created])


def model_version(name: str = "test-encoder") -> ModelVersion:
    return ModelVersion.objects.get_or_create(name=name, defaults={"backbone": "test"})[0]


def enrich(mention: Mention, vector: np.ndarray, version: ModelVersion, sentiment: str = "neutral") -> None:
    vector = np.asarray(vector, dtype="<f4")
    vector = vector / max(float(np.linalg.norm(vector)), 1e-9)
    Enrichment.objects.update_or_create(
        mention=mention,
        model_version=version,
        defaults={
            "organization_id": mention.organization_id,
            "sentiment": sentiment,
            "embedding": vector.astype("<f4").tobytes(),
        },
    )
    # As the enrich path does: the mention's stored labels now come from this version.
    Mention.objects.filter(pk=mention.pk).update(model_version=version)
    mention.model_version = version


@dataclass
class Fixture:
    tenant: Tenant
    brand: Brand
    rival: Brand
    campaign: Campaign
    builder: Builder
    m3: Mention


def build_fixture(tenant: Tenant) -> Fixture:
    """Brand A (tenant.brand) and its rival B; a campaign of A from Jan 10 to Jan 20 2026 with the
    baseline Jan 5 to Jan 10.

    A in the window: m1 pos e10 u1, m2 pos e5 u2 (same hour as m1), m3 neg e1 u1, m4 neu e0 u3
    (m1..m4 in the campaign), m5 unscored e4 anonymous. A in the baseline: neg e2 u4, pos e3 u5.
    B in the window: pos e20 u6, neg e0 u1.
    """
    brand, rival = tenant.brand, tenant.competitor
    campaign = Campaign.objects.create(
        organization=tenant.org,
        brand=brand,
        name="Fixture launch",
        query='"spring drop"',  # not in the texts: its terms would be filtered out
        starts_at=at("2026-01-10T00:00:00"),
        ends_at=at("2026-01-20T00:00:00"),
        baseline_starts_at=at("2026-01-05T00:00:00"),
        baseline_ends_at=at("2026-01-10T00:00:00"),
    )
    b = Builder(tenant)
    a = (brand,)
    b.mention(
        "2026-01-10T09:15:00",
        sentiment="positive",
        engagement=10,
        author="u1",
        text="Love the #launch shoes",
        brands=a,
        campaign=campaign,
    )
    b.mention(
        "2026-01-10T09:40:00",
        sentiment="positive",
        engagement=5,
        author="u2",
        text="#launch shoes look great",
        brands=a,
        campaign=campaign,
    )
    m3 = b.mention(
        "2026-01-11T12:00:00",
        sentiment="negative",
        engagement=1,
        author="u1",
        text="My shoes broke already #launch",
        brands=a,
        campaign=campaign,
    )
    b.mention(
        "2026-01-12T08:00:00",
        sentiment="neutral",
        engagement=0,
        author="u3",
        text="Shoes on sale today",
        brands=a,
        campaign=campaign,
        kind=SourceKind.REVIEW,
    )
    b.mention("2026-01-15T18:00:00", engagement=4, text="anyone tried these shoes", brands=a, language="es")
    b.mention(
        "2026-01-06T10:00:00",
        sentiment="negative",
        engagement=2,
        author="u4",
        text="shoes too pricey",
        brands=a,
    )
    b.mention(
        "2026-01-07T10:00:00",
        sentiment="positive",
        engagement=3,
        author="u5",
        text="good shoes honestly",
        brands=a,
    )
    b.mention(
        "2026-01-10T10:00:00",
        sentiment="positive",
        engagement=20,
        author="u6",
        text="rival boots rock",
        brands=(rival,),
    )
    b.mention(
        "2026-01-13T10:00:00",
        sentiment="negative",
        engagement=0,
        author="u1",
        text="rival boots meh",
        brands=(rival,),
    )
    b.roll_up()
    do_update_rollups([tenant.mention.pk])  # the shared fixture's mention (today), outside every range here
    return Fixture(tenant, brand, rival, campaign, b, m3)
