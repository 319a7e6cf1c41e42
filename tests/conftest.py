"""Shared fixtures: two tenants (alice's org A, bob's org B), API clients, marker enforcement."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from listening.brands.models import Brand, Campaign
from listening.mentions.models import BrandMention, CampaignMention, Mention, Source, SourceKind
from listening.tenancy.models import Organization, Role
from listening.tenancy.services import do_add_member, do_create_organization, do_issue_api_key

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# Loading the model with LISTENING_INFERENCE_PATH=auto checks every CPU path on the shipped check set
# (about a minute, once per version and CPU); tests serve the unchecked torch default instead, and
# tests/models/test_parity.py runs the check itself on a sample.
os.environ.setdefault("LISTENING_INFERENCE_CHECK_ROWS", "0")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgres``/``redis`` skip locally without the service, and fail under CI."""
    missing: dict[str, str] = {}
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing["postgres"] = "needs PostgreSQL (set DATABASE_URL)"
    if not settings.REDIS_URL:
        missing["redis"] = "needs Redis (set REDIS_URL)"
    for item in items:
        for marker, reason in missing.items():
            if marker in item.keywords:
                if IN_CI:
                    item.add_marker(
                        pytest.mark.xfail(reason=f"CI misconfigured: {reason}", strict=True, run=False)
                    )
                else:
                    item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    """Rate-limit counters live in the cache; each test starts from zero."""
    cache.clear()
    yield


@dataclass
class Tenant:
    org: Organization
    owner_key: str
    analyst_key: str
    viewer_key: str
    brand: Brand
    competitor: Brand
    campaign: Campaign
    source: Source
    mention: Mention

    def client(self, role: str = Role.OWNER) -> APIClient:
        key: str = {Role.OWNER: self.owner_key, Role.ANALYST: self.analyst_key, Role.VIEWER: self.viewer_key}[
            Role(role)
        ]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return client


def make_tenant(name: str, owner: str) -> Tenant:
    org, owner_key = do_create_organization(name, owner_username=owner)
    analyst = do_add_member(org, f"{owner}-analyst", Role.ANALYST)
    viewer = do_add_member(org, f"{owner}-viewer", Role.VIEWER)
    brand = Brand.objects.create(organization=org, name=f"{name} brand", query=f"{owner}brand")
    competitor = Brand.objects.create(organization=org, name=f"{name} rival", query=f"{owner}rival")
    brand.competitors.add(competitor)
    now = timezone.now()
    campaign = Campaign.objects.create(
        organization=org,
        brand=brand,
        name=f"{name} launch",
        query="#launch",
        starts_at=now - timedelta(days=3),
    )
    source = Source.objects.create(organization=org, name="push", kind=SourceKind.SOCIAL)
    mention = Mention.objects.create(
        organization=org,
        source=source,
        external_id=f"{owner}-1",
        kind=SourceKind.SOCIAL,
        text=f"I love {owner}brand #launch",
        clean_text=f"I love {owner}brand #launch",
        published_at=now - timedelta(hours=1),
    )
    BrandMention.objects.create(
        organization=org, brand=brand, mention=mention, published_at=mention.published_at
    )
    CampaignMention.objects.create(
        organization=org, campaign=campaign, mention=mention, published_at=mention.published_at
    )
    return Tenant(
        org=org,
        owner_key=owner_key.plaintext,
        analyst_key=do_issue_api_key(analyst, name="analyst").plaintext,
        viewer_key=do_issue_api_key(viewer, name="viewer").plaintext,
        brand=brand,
        competitor=competitor,
        campaign=campaign,
        source=source,
        mention=mention,
    )


@pytest.fixture
def alice(db: None) -> Tenant:
    """Org A, owned by alice."""
    return make_tenant("Acme", "alice")


@pytest.fixture
def bob(db: None) -> Tenant:
    """Org B, owned by bob."""
    return make_tenant("Globex", "bob")


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"
